"""Pre-merge changes: the work tree, the index and untracked files against the upstream."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lanes.git.base import DEFAULT_MAX_DEEPEN, deepen_until, merge_target_found
from lanes.git.basis import BASE_NOT_FOUND, GIT_ERROR, NO_BASE, NO_MERGE_BASE, Basis, uncertain
from lanes.git.diff import diff_paths
from lanes.git.parse import decode_path, sorted_unique
from lanes.git.revs import check_rev, is_shallow, resolve_commit
from lanes.git.runner import (
    FETCH_TIMEOUT,
    GIT_TIMEOUT,
    GitError,
    NotAGitRepository,
    describe_failure,
    output,
    run,
    timeouts,
)
from lanes.model import ChangeSet, StrPath

if TYPE_CHECKING:
    from pathlib import Path

_UPSTREAM_CANDIDATES = (
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
    "refs/heads/main",
    "refs/heads/master",
)


def repo_root(start: StrPath) -> Path:
    """The top level of the git work tree containing ``start``."""
    from pathlib import Path

    args = ["rev-parse", "--show-toplevel"]
    result = run(start, args)
    if result.returncode != 0:
        raise NotAGitRepository(f"{start}: {describe_failure(args, result)}")
    return Path(decode_path(result.stdout).rstrip("\n"))


def _default_upstream(root: StrPath) -> str | None:
    """``origin/HEAD``'s target, else origin's main/master, else local main/master."""
    result = run(root, ["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"])
    origin_head = [decode_path(result.stdout).strip()] if result.returncode == 0 else []
    for ref in [*origin_head, *_UPSTREAM_CANDIDATES]:
        if resolve_commit(root, ref) is not None:
            return ref
    return None


def _untracked(root: StrPath) -> list[str]:
    raw = output(root, ["ls-files", "--others", "--exclude-standard", "-z", "--full-name", "--"])
    return [decode_path(token) for token in raw.split(b"\0") if token]


def _local_changes(
    root: StrPath, basis: Basis, *, copies: bool, fetch: bool, max_deepen: int
) -> ChangeSet:
    basis.shallow = is_shallow(root)
    basis.head = resolve_commit(root, "HEAD")
    if basis.head is None:
        return uncertain(basis, NO_BASE, "the repository has no commit yet")
    basis.base_ref = basis.base_ref or _default_upstream(root)
    if basis.base_ref is None:
        return uncertain(basis, NO_BASE, "no upstream branch (origin/HEAD, main or master)")
    basis.base = resolve_commit(root, basis.base_ref)
    if basis.base is None:
        return uncertain(basis, BASE_NOT_FOUND, f"upstream {basis.base_ref!r} not found")
    found = merge_target_found(root, basis)
    if fetch:
        deepen_until(root, basis, found, max_deepen)
    if not basis.merge_bases:
        return uncertain(basis, NO_MERGE_BASE, f"HEAD shares no history with {basis.base_ref!r}")
    basis.merge_base = basis.merge_bases[0]
    basis.base_is_ancestor = basis.merge_bases == [basis.base]
    paths = _untracked(root)
    for start in basis.merge_bases:
        paths.extend(diff_paths(root, [start], copies=copies))
        paths.extend(diff_paths(root, [start], copies=False, cached=True))
    return ChangeSet(paths=sorted_unique(paths), basis=basis.as_dict())


def local_changes(
    repo: StrPath,
    upstream: str | None = None,
    *,
    copies: bool = True,
    fetch: bool = True,
    max_deepen: int = DEFAULT_MAX_DEEPEN,
    timeout: float = GIT_TIMEOUT,
    fetch_timeout: float = FETCH_TIMEOUT,
) -> ChangeSet:
    """Pre-merge default: working tree, index and untracked (not ignored) files against the merge
    base of HEAD with ``upstream`` (default: ``origin/HEAD``'s target, else origin's main or
    master, else the local main or master). Method ``local``. A shallow clone is deepened as in
    :func:`lanes.git.base.changes_between` (unless ``fetch=False``); the same reason codes,
    ``git-error`` also when a git command exceeds its timeout."""
    basis = Basis(method="local", base_ref=upstream, head_ref="HEAD")
    try:
        if upstream is not None:
            check_rev(upstream)
        with timeouts(timeout, fetch_timeout):
            root = repo_root(repo)
            return _local_changes(root, basis, copies=copies, fetch=fetch, max_deepen=max_deepen)
    except GitError as exc:
        return uncertain(basis, GIT_ERROR, str(exc))
