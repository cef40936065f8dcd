"""What the audits read from git: tracked files, a file at a revision, commit subjects.

git runs through :func:`lanes.git.runner.run_git` and :func:`~lanes.git.runner.stream_git`,
like every git command of lanes: an argument list (never a shell), ``-z`` output where paths are
involved, a time limit after which git's whole process group is killed (hooks and what they left
behind included). Paths are decoded as UTF-8 with ``surrogateescape`` like :mod:`lanes.git`.
Every failure raises :class:`GitReadError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lanes.git.parse import decode_path
from lanes.git.runner import STREAM_TIMEOUT as _STREAM_TIMEOUT
from lanes.git.runner import GitError, run_git, stream_git

GIT_TIMEOUT = 120.0


class GitReadError(GitError):
    """git failed, timed out, or is missing (or a revision was refused)."""


def check_rev(rev: str) -> str:
    """Refuse anything git could read as an option or that holds control characters."""
    if not rev or rev.startswith("-") or any(char in rev for char in "\0\n\r"):
        raise GitReadError(f"refusing revision {rev!r}")
    return rev


def git_output(repo: Path, args: list[str], *, timeout: float = GIT_TIMEOUT) -> bytes:
    """``git args`` stdout, run in ``repo``; :class:`GitReadError` on failure or timeout."""
    try:
        return run_git(repo, args, timeout=timeout)
    except GitError as error:
        raise GitReadError(str(error)) from error


def _nul_split(raw: bytes) -> list[str]:
    return [decode_path(token) for token in raw.split(b"\0") if token]


def tracked_files(repo: Path, rev: str | None = None) -> list[str]:
    """Every file git tracks: the index (``git ls-files``) or the tree of ``rev``."""
    if rev is None:
        return _nul_split(git_output(repo, ["ls-files", "-z", "--full-name", "--"]))
    args = ["ls-tree", "-r", "-z", "--name-only", "--full-tree", "--end-of-options"]
    return _nul_split(git_output(repo, [*args, f"{check_rev(rev)}^{{tree}}"]))


def file_at(repo: Path, rev: str, path: str) -> bytes:
    """The content of ``path`` (repository-relative) at ``rev`` (``git show REV:PATH``)."""
    return git_output(repo, ["show", "--no-textconv", f"{check_rev(rev)}:{path}"])


def iter_subjects(
    repo: Path, rev_range: str, *, first_parent: bool = True, timeout: float = _STREAM_TIMEOUT
) -> Iterator[tuple[str, str]]:
    """``(sha, subject)`` per commit of ``rev_range`` (first-parent commits, or all of them),
    newest first, streamed from one ``git log`` (the same order as
    :func:`lanes.git.commits.iter_changes`). :class:`GitReadError`, after the subjects read so
    far, when git fails or the whole stream exceeds ``timeout`` seconds."""
    walk = ["--first-parent"] if first_parent else []
    args = ["log", *walk, "--no-show-signature", "-z", "--format=%H %s"]
    args += ["--end-of-options", check_rev(rev_range), "--"]
    try:
        for record in stream_git(repo, args, timeout=timeout):
            if record:
                sha, _, subject = decode_path(record).partition(" ")
                yield sha, subject
    except GitError as error:
        raise GitReadError(str(error)) from error
