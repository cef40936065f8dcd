"""Locating the base of a change (fetching it, deepening a shallow clone) and
:func:`changes_between`.

Revisions given by callers must not start with ``-`` and are passed after ``--end-of-options``
or before ``--``, so nothing from outside can be read as an option.
"""

from __future__ import annotations

from collections.abc import Sequence

from lanes.git.basis import (
    BASE_NOT_FOUND,
    GIT_ERROR,
    NO_BASE,
    NO_MERGE_BASE,
    NOT_ANCESTOR,
    NULL_SHAS,
    Basis,
    uncertain,
)
from lanes.git.diff import diff_paths
from lanes.git.parse import decode_path, sorted_unique
from lanes.git.revs import (
    check_rev,
    is_shallow,
    looks_like_sha,
    merge_bases,
    require_commit,
    resolve_commit,
    resolve_pair,
)
from lanes.git.runner import (
    FETCH_TIMEOUT,
    GIT_TIMEOUT,
    GitError,
    describe_failure,
    output,
    run,
    timeouts,
)
from lanes.model import ChangeSet, StrPath

DEFAULT_MAX_DEEPEN = 2048
"""Total number of commits a shallow clone may be deepened by before giving up."""

FIRST_DEEPEN = 16
"""The first ``--deepen`` step; each further step doubles."""

_NOT_IN_BRANCH = frozenset(" ~^:?*[\\\0\n\t")


def default_remote(repo: StrPath) -> str | None:
    remotes = decode_path(output(repo, ["remote"])).split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None


def fetch(
    repo: StrPath, remote: str, options: Sequence[str], revs: Sequence[str] = ()
) -> str | None:
    """Run ``git fetch``; return None on success, else the error message."""
    command = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", *options]
    command += ["--end-of-options", remote, *(check_rev(rev) for rev in revs)]
    try:
        result = run(repo, command, fetching=True)
    except GitError as exc:
        return str(exc)
    return None if result.returncode == 0 else describe_failure(command, result)


def deepen_until(repo: StrPath, basis: Basis, found: bool, max_deepen: int) -> None:
    """Deepen a shallow clone (doubling steps, at most ``max_deepen`` commits in total)
    until :func:`merge_target_found` says the history is deep enough."""
    step = FIRST_DEEPEN
    while not found and basis.shallow and basis.depth_fetched < max_deepen:
        remote = default_remote(repo)
        if remote is None:
            basis.notes.append("shallow clone without a remote to deepen from")
            return
        step = min(step, max_deepen - basis.depth_fetched)
        error = fetch(repo, remote, [f"--deepen={step}"])
        if error is not None:
            basis.notes.append(f"deepening failed: {error}")
            return
        basis.depth_fetched += step
        step *= 2
        basis.shallow = is_shallow(repo)
        found = merge_target_found(repo, basis)


def merge_target_found(repo: StrPath, basis: Basis) -> bool:
    """Whether the history now holds what the requested diff needs."""
    assert basis.base is not None and basis.head is not None
    basis.merge_bases = merge_bases(repo, basis.base, basis.head)
    if basis.method == "two-dot":
        return basis.base in basis.merge_bases
    return bool(basis.merge_bases)


def _fetch_plan(base: str, remote: str) -> tuple[str, list[str]] | None:
    """(refspec to fetch, revisions to try afterwards) for a base this clone lacks: a SHA is
    fetched as is; a branch (``main``, ``origin/main``, ``refs/heads/main``...) into its
    remote-tracking ref. None for anything else."""
    if looks_like_sha(base):
        return base, [base]
    branch = base
    for prefix in (f"refs/remotes/{remote}/", f"{remote}/", "refs/heads/"):
        branch = branch.removeprefix(prefix)
    if not branch or any(char in _NOT_IN_BRANCH for char in branch) or branch.startswith("-"):
        return None
    tracking = f"refs/remotes/{remote}/{branch}"
    return f"+refs/heads/{branch}:{tracking}", [base, tracking]


def _locate_base(repo: StrPath, basis: Basis, base: str, fetching: bool) -> str | None:
    """The base's SHA; fetched from the remote if this clone lacks it (and ``fetching``)."""
    sha = basis.base or resolve_commit(repo, base)
    if sha is not None or not fetching:
        return sha
    remote = default_remote(repo)
    if remote is None:
        basis.notes.append("no remote to fetch the base from")
        return None
    plan = _fetch_plan(base, remote)
    if plan is None:
        basis.notes.append(f"cannot fetch {base!r}: neither a SHA nor a branch name")
        return None
    refspec, candidates = plan
    depth = [f"--depth={FIRST_DEEPEN}"] if basis.shallow else []
    error = fetch(repo, remote, depth, [refspec])
    if error is not None:
        basis.notes.append(f"fetching the base failed: {error}")
        return None
    for candidate in candidates:
        sha = resolve_commit(repo, candidate)
        if sha is not None:
            basis.base_fetched = True
            return sha
    return None


def _find_history(
    repo: StrPath, basis: Basis, *, max_deepen: int, fetching: bool
) -> tuple[str, str] | None:
    """Locate the base and the merge bases (fetching, deepening); ``(code, detail)`` if the
    requested diff cannot be computed."""
    base = (basis.base_ref or "").strip()
    if not base or base in NULL_SHAS:
        return NO_BASE, f"no base revision given ({basis.base_ref!r})"
    basis.base = _locate_base(repo, basis, check_rev(base), fetching)
    if basis.base is None:
        return BASE_NOT_FOUND, f"base {base!r} is not in this clone"
    found = merge_target_found(repo, basis)
    if fetching:
        deepen_until(repo, basis, found, max_deepen)
    if not basis.merge_bases:
        where = " (shallow clone)" if basis.shallow else ""
        return NO_MERGE_BASE, f"{base!r} and {basis.head_ref!r} share no history{where}"
    basis.merge_base = basis.merge_bases[0]
    basis.base_is_ancestor = basis.merge_bases == [basis.base]
    if basis.method == "two-dot" and not basis.base_is_ancestor:
        return NOT_ANCESTOR, f"{base!r} is not an ancestor of {basis.head_ref!r}"
    return None


def _changes_between(
    repo: StrPath, basis: Basis, head: str, *, max_deepen: int, copies: bool, fetching: bool
) -> ChangeSet:
    _resolve_head(repo, basis, head)
    problem = _find_history(repo, basis, max_deepen=max_deepen, fetching=fetching)
    if problem is not None:
        return uncertain(basis, *problem)
    assert basis.base is not None and basis.head is not None
    starts = [basis.base] if basis.method == "two-dot" else basis.merge_bases
    paths: list[str] = []
    for start in starts:
        paths.extend(diff_paths(repo, [start, basis.head], copies=copies))
    return ChangeSet(paths=sorted_unique(paths), basis=basis.as_dict())


def _resolve_head(repo: StrPath, basis: Basis, head: str) -> None:
    """``basis.head`` and ``basis.shallow``, and ``basis.base`` when this clone has it: one git
    process in the common case, separate ones to tell which revision is missing."""
    base = (basis.base_ref or "").strip()
    if base and base not in NULL_SHAS and not base.startswith("-"):
        pair = resolve_pair(repo, head, base)
        if pair is not None:
            basis.shallow, basis.head, basis.base = pair
            return
    basis.head = require_commit(repo, head)
    basis.shallow = is_shallow(repo)


def changes_between(
    repo: StrPath,
    base: str | None,
    head: str = "HEAD",
    *,
    merge_base: bool = True,
    max_deepen: int = DEFAULT_MAX_DEEPEN,
    copies: bool = True,
    fetch: bool = True,
    timeout: float = GIT_TIMEOUT,
    fetch_timeout: float = FETCH_TIMEOUT,
) -> ChangeSet:
    """The paths changed on ``head`` relative to ``base``.

    With ``merge_base`` (pull requests): the diff from the merge base(s) of ``base`` and ``head``
    to ``head`` (``git diff base...head``); a base that is not an ancestor of head (force push) is
    fine as long as they share history. Without it (pushes): ``git diff base..head``, which needs
    ``base`` to be an ancestor of ``head``.

    A missing base is fetched from the remote (``origin``, else the only remote): a SHA as is,
    a branch name (``main``, ``origin/main``) into its remote-tracking ref. A shallow clone is
    deepened by doubling steps, at most ``max_deepen`` commits in total, until the merge base
    (or, without ``merge_base``, the base as an ancestor) is found. ``fetch=False`` never
    touches the network.

    Otherwise the result is uncertain: ``no-base``, ``base-not-found``, ``no-merge-base``,
    ``not-ancestor``, or ``git-error`` for any git failure (including a missing or hung git, a
    local git command exceeding ``timeout`` or a fetch exceeding ``fetch_timeout`` seconds).
    """
    basis = Basis(method="merge-base" if merge_base else "two-dot", base_ref=base, head_ref=head)
    try:
        with timeouts(timeout, fetch_timeout):
            return _changes_between(
                repo, basis, head, max_deepen=max_deepen, copies=copies, fetching=fetch
            )
    except GitError as exc:
        return uncertain(basis, GIT_ERROR, str(exc))
