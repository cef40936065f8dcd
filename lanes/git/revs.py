"""Revisions: refusing option-like ones, resolving them to commits, merge bases, shallowness."""

from __future__ import annotations

from lanes.git.parse import decode_path
from lanes.git.runner import GitError, describe_failure, output_line, run
from lanes.model import StrPath


def check_rev(rev: str) -> str:
    """Refuse anything git could read as an option or that holds line breaks or NUL."""
    if not rev or rev.startswith("-") or any(char in rev for char in "\0\n\r"):
        raise GitError(f"refusing revision {rev!r}")
    return rev


def looks_like_sha(rev: str) -> bool:
    return len(rev) in (40, 64) and all(char in "0123456789abcdefABCDEF" for char in rev)


def resolve_commit(repo: StrPath, rev: str) -> str | None:
    """The commit SHA ``rev`` names, or None if this clone does not have it."""
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{check_rev(rev)}^{{commit}}"]
    result = run(repo, args)
    if result.returncode == 0:
        return decode_path(result.stdout).strip()
    if result.returncode == 1 or not result.stderr.strip():
        return None
    raise GitError(describe_failure(args, result))


def require_commit(repo: StrPath, rev: str) -> str:
    sha = resolve_commit(repo, rev)
    if sha is None:
        raise GitError(f"unknown revision {rev!r}")
    return sha


def resolve_pair(repo: StrPath, head: str, base: str) -> tuple[bool, str, str] | None:
    """(shallow clone?, head SHA, base SHA) from one ``git rev-parse``; None when either does
    not name a commit here (callers then ask about each, to say which, and fetch)."""
    args = ["rev-parse", "--is-shallow-repository", "--end-of-options"]
    args += [f"{check_rev(head)}^{{commit}}", f"{check_rev(base)}^{{commit}}", "--"]
    result = run(repo, args)
    if result.returncode != 0:
        return None
    echoed = ("--", "--end-of-options")  # older gits print the separators back
    lines = [line for line in decode_path(result.stdout).split() if line not in echoed]
    shas = lines[1:]
    if len(lines) != 3 or lines[0] not in ("true", "false") or not all(map(looks_like_sha, shas)):
        raise GitError(f"git rev-parse printed {result.stdout!r}: expected a flag and two SHAs")
    return lines[0] == "true", lines[1], lines[2]


def merge_bases(repo: StrPath, base: str, head: str) -> list[str]:
    """Every best common ancestor of two commits (several for criss-cross merges)."""
    args = ["merge-base", "--all", base, head]
    result = run(repo, args)
    if result.returncode == 0:
        return decode_path(result.stdout).split()
    if result.returncode == 1 and not result.stderr.strip():
        return []
    raise GitError(describe_failure(args, result))


def is_shallow(repo: StrPath) -> bool:
    return output_line(repo, ["rev-parse", "--is-shallow-repository"]) == "true"
