"""Reading objects without a checkout: which blob a path is at many commits, and blob contents,
each in ONE ``git cat-file`` process fed on stdin (bounded like every git command)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from lanes.git.parse import decode_path
from lanes.git.runner import GitError, run_git


def _query(text: str) -> bytes:
    if "\n" in text or "\0" in text:
        raise GitError(f"refusing object name {text!r}")
    return text.encode("utf-8", "surrogateescape") + b"\n"


def blob_ids_at(repo: Path, commits: Sequence[str], path: str) -> dict[str, str | None]:
    """The blob ``path`` is at each commit (None where the commit does not have it, or has
    something else there), from one ``git cat-file --batch-check``."""
    if not commits:
        return {}
    queries = b"".join(_query(f"{commit}:{path}") for commit in commits)
    raw = run_git(repo, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], stdin=queries)
    answers = decode_path(raw).splitlines()
    if len(answers) != len(commits):
        raise GitError(f"git cat-file answered {len(answers)} of {len(commits)} queries")
    found: dict[str, str | None] = {}
    for commit, answer in zip(commits, answers, strict=True):
        name, _, kind = answer.partition(" ")
        found[commit] = name if kind == "blob" else None
    return found


def read_blobs(repo: Path, blob_ids: Iterable[str]) -> dict[str, bytes]:
    """The contents of blobs, from one ``git cat-file --batch``."""
    wanted = list(dict.fromkeys(blob_ids))
    if not wanted:
        return {}
    raw = run_git(repo, ["cat-file", "--batch"], stdin=b"".join(map(_query, wanted)))
    contents: dict[str, bytes] = {}
    position = 0
    for blob in wanted:
        end = raw.index(b"\n", position)
        header = decode_path(raw[position:end]).split()
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"git cat-file: {blob} is not a blob ({' '.join(header)})")
        size = int(header[2])
        contents[blob] = raw[end + 1 : end + 1 + size]
        position = end + 1 + size + 1  # the content is followed by a newline
    return contents
