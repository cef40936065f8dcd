"""How a change set was obtained (``ChangeSet.basis``), the reason codes, the fail-safe result."""

from __future__ import annotations

from lanes.model import ChangeSet

NULL_SHAS = frozenset({"0" * 40, "0" * 64})

# Reason codes stored in ChangeSet.uncertain.
NO_BASE = "no-base"
BASE_NOT_FOUND = "base-not-found"
NOT_ANCESTOR = "not-ancestor"
NO_MERGE_BASE = "no-merge-base"
GIT_ERROR = "git-error"


class Basis:
    """How a change set was obtained; ``as_dict()`` is ``ChangeSet.basis``, with the same keys
    for every method (``merge-base``, ``two-dot``, ``local``, ``commit``, ``stdin``/``file``).
    Filled in step by step while the base is located. (A plain class: ``dataclasses`` costs
    about 5 ms of start-up, for one record built once per run.)"""

    def __init__(
        self, method: str, base_ref: str | None, head_ref: str | None, head: str | None = None
    ) -> None:
        self.method = method
        self.base_ref = base_ref
        self.head_ref = head_ref
        self.base: str | None = None
        self.head = head
        self.merge_base: str | None = None
        self.merge_bases: list[str] = []
        self.base_is_ancestor: bool | None = None
        self.depth_fetched = 0
        self.base_fetched = False
        self.fallback: str | None = None
        self.shallow = False
        self.notes: list[str] = []

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "base_ref": self.base_ref,
            "head_ref": self.head_ref,
            "base": self.base,
            "head": self.head,
            "merge_base": self.merge_base,
            "merge_bases": list(self.merge_bases),
            "base_is_ancestor": self.base_is_ancestor,
            "depth_fetched": self.depth_fetched,
            "base_fetched": self.base_fetched,
            "fallback": self.fallback,
            "shallow": self.shallow,
        }


def uncertain(basis: Basis, code: str, detail: str) -> ChangeSet:
    """The fail-safe change set: no paths, reason ``code``, every lane."""
    basis.fallback = "all-lanes"
    notes = "; ".join(basis.notes)
    full_detail = f"{detail} ({notes})" if notes else detail
    return ChangeSet(paths=[], basis=basis.as_dict(), uncertain=code, detail=full_detail)


def commit_basis(sha: str, parents: list[str], head_ref: str | None = None) -> dict[str, object]:
    """``basis`` of a commit diffed against its first parent (None: a root commit)."""
    basis = Basis(method="commit", base_ref=None, head_ref=head_ref or sha, head=sha)
    basis.base = parents[0] if parents else None
    return basis.as_dict()
