"""What the audits read from git: tracked files, a file at a revision, commit subjects.

git runs through gitpython's command wrapper (``git.Git.execute``: an argument list, never a
shell; imported on demand, audits are not start-up bound), with ``-z`` output where paths are
involved and a timeout. Paths are decoded as UTF-8 with ``surrogateescape`` like
:mod:`lanes.gitdiff`. Every failure raises :class:`GitReadError`.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from lanes.gitdiff import decode_path, git_env

GIT_TIMEOUT = 120.0


class GitReadError(Exception):
    """git failed, timed out, or is missing."""


def check_rev(rev: str) -> str:
    """Refuse anything git could read as an option or that holds control characters."""
    if not rev or rev.startswith("-") or any(char in rev for char in "\0\n\r"):
        raise GitReadError(f"refusing revision {rev!r}")
    return rev


def git_output(repo: Path, args: list[str], *, timeout: float = GIT_TIMEOUT) -> bytes:
    """``git args`` stdout, run in ``repo``; :class:`GitReadError` on failure or timeout."""
    import git

    try:
        status, stdout, stderr = git.Git(os.fspath(repo)).execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            kill_after_timeout=timeout,
            env=git_env(),
        )
    except (OSError, git.GitCommandError) as error:
        raise GitReadError(f"git {args[0]}: {error}") from None
    if status != 0:
        message = decode_path(stderr if isinstance(stderr, bytes) else stderr.encode()).strip()
        raise GitReadError(f"git {args[0]} exited with {status}: {message.replace(chr(10), ' ')}")
    return stdout if isinstance(stdout, bytes) else stdout.encode()


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


def commit_count(repo: Path, rev_range: str) -> int:
    """How many first-parent commits ``rev_range`` holds (for a progress bar)."""
    args = ["rev-list", "--count", "--first-parent", "--end-of-options", check_rev(rev_range)]
    return int(decode_path(git_output(repo, args)).strip() or 0)


def iter_subjects(repo: Path, rev_range: str) -> Iterator[tuple[str, str]]:
    """``(sha, subject)`` per first-parent commit of ``rev_range``, newest first, streamed
    from one ``git log`` (the same order as :func:`lanes.gitdiff.iter_first_parent_changes`)."""
    command = ["git", "-C", os.fspath(repo), "log", "--first-parent", "--no-show-signature"]
    command += ["-z", "--format=%H %s", "--end-of-options", check_rev(rev_range), "--"]
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(),
        )
    except OSError as error:
        raise GitReadError(f"git log: {error}") from None
    assert process.stdout is not None
    try:
        pending = b""
        while chunk := process.stdout.read(1 << 16):
            pending += chunk
            *records, pending = pending.split(b"\0")
            for record in records:
                sha, _, subject = decode_path(record).partition(" ")
                yield sha, subject
        if pending:
            sha, _, subject = decode_path(pending).partition(" ")
            yield sha, subject
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdout.close()
