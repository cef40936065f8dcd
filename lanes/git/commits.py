"""One commit's changes, and the changes of every commit of a range streamed from one
``git log``. Each commit is diffed against its first parent (a root commit against the empty
tree, a merge against its first parent: what the merge brought in)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from lanes.git.basis import GIT_ERROR, Basis, commit_basis, uncertain
from lanes.git.diff import COPY_OPTIONS, DIFF_OPTIONS
from lanes.git.parse import (
    RawEntry,
    decode_path,
    parse_name_status,
    parse_raw_log,
    sorted_unique,
)
from lanes.git.revs import check_rev
from lanes.git.runner import (
    FETCH_TIMEOUT,
    GIT_TIMEOUT,
    STREAM_TIMEOUT,
    GitError,
    output,
    run_git,
    stream_git,
    timeouts,
)
from lanes.model import ChangeSet

_COMMIT_FORMAT = "--format=%H %P"
RAW_OPTIONS = ("--raw", "--no-abbrev", *(o for o in DIFF_OPTIONS if o != "--name-status"))
"""The history stream's diff: raw records carry both sides' modes and object ids, so the files
discovery reads can be followed from commit to commit without another git process."""


def _commit_paths(
    repo: Path, sha: str, options: Sequence[str]
) -> tuple[list[str], list[str], bool]:
    """One ``git diff-tree`` of a commit: its SHA and parents, its changed paths, and whether
    it added a file."""
    common = ["--root", "--always", "--diff-merges=first-parent", "-r", _COMMIT_FORMAT]
    raw = output(repo, ["diff-tree", *common, *options, "--end-of-options", sha, "--"])
    header, _, records = raw.partition(b"\0")
    return decode_path(header).split(), *parse_name_status(records)


def commit_changes(
    repo: Path, sha: str, *, copies: bool = False, timeout: float = GIT_TIMEOUT
) -> ChangeSet:
    """The paths one commit changed against its first parent (a root commit: against the empty
    tree), in one ``git diff-tree`` call (two with ``copies``, which adds copy sources).
    Method ``commit``; ``basis["base"]`` is the first parent (None for a root commit)."""
    try:
        with timeouts(timeout, FETCH_TIMEOUT):
            ids, paths, added = _commit_paths(Path(repo), check_rev(sha), DIFF_OPTIONS)
            if copies and added:
                paths.extend(_commit_paths(Path(repo), sha, COPY_OPTIONS)[1])
    except GitError as exc:
        return uncertain(Basis(method="commit", base_ref=None, head_ref=sha), GIT_ERROR, str(exc))
    if not ids:
        failed = Basis(method="commit", base_ref=None, head_ref=sha)
        return uncertain(failed, GIT_ERROR, f"git diff-tree printed no commit for {sha!r}")
    return ChangeSet(paths=sorted_unique(paths), basis=commit_basis(ids[0], ids[1:], sha))


def log_walk(first_parent: bool) -> list[str]:
    """The ``git log``/``git rev-list`` options choosing the commits of a range: along first
    parents, or every commit (the merged branches' commits too)."""
    return ["--first-parent"] if first_parent else []


def _log_args(rev_range: str, first_parent: bool) -> list[str]:
    return [
        "-c",
        "log.showRoot=true",
        "log",
        *log_walk(first_parent),
        "--diff-merges=first-parent",
        "--no-show-signature",
        "--no-relative",
        "--format=%x01%H %P",
        *RAW_OPTIONS,
        "--end-of-options",
        check_rev(rev_range),
        "--",
    ]


def iter_changes(
    repo: Path, rev_range: str, *, first_parent: bool = True, timeout: float = STREAM_TIMEOUT
) -> Iterator[tuple[str, ChangeSet]]:
    """``(sha, changes)`` for each commit of ``rev_range``, newest first (git log's order),
    along first parents or, with ``first_parent=False``, every commit; each diffed against its
    first parent, streamed from ONE ``git log`` process. Copy sources are not added.

    Unlike the other functions this raises :class:`GitError` (after the commits read so far)
    when git fails or exceeds ``timeout``: a partial history must not look complete.
    """
    for sha, changes, _ in iter_raw_changes(
        repo, rev_range, first_parent=first_parent, timeout=timeout
    ):
        yield sha, changes


def iter_raw_changes(
    repo: Path, rev_range: str, *, first_parent: bool = True, timeout: float = STREAM_TIMEOUT
) -> Iterator[tuple[str, ChangeSet, list[RawEntry]]]:
    """:func:`iter_changes` with each commit's raw diff records (modes and object ids of both
    sides), from the same single ``git log``."""
    args = _log_args(rev_range, first_parent)
    for ids, entries in parse_raw_log(stream_git(Path(repo), args, timeout=timeout)):
        paths = sorted_unique(entry.path for entry in entries)
        yield ids[0], ChangeSet(paths=paths, basis=commit_basis(ids[0], ids[1:])), entries


def iter_first_parent_changes(
    repo: Path, rev_range: str, *, timeout: float = STREAM_TIMEOUT
) -> Iterator[tuple[str, ChangeSet]]:
    """:func:`iter_changes` along first parents."""
    return iter_changes(repo, rev_range, first_parent=True, timeout=timeout)


def commit_list(repo: Path, rev_range: str, *, first_parent: bool = True) -> list[str]:
    """The SHAs of ``rev_range`` in the order :func:`iter_changes` streams them (newest first)."""
    args = ["rev-list", *log_walk(first_parent), "--end-of-options", check_rev(rev_range), "--"]
    return decode_path(run_git(Path(repo), args)).split()
