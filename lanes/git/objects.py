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
    return dict(
        zip(commits, _blob_ids(repo, [f"{commit}:{path}" for commit in commits]), strict=True)
    )


def _blob_ids(repo: Path, names: Sequence[str]) -> list[str | None]:
    """The blob each object name (``rev:path``) is, None where it is none, from one
    ``git cat-file --batch-check``."""
    if not names:
        return []
    queries = b"".join(map(_query, names))
    raw = run_git(repo, ["cat-file", "--batch-check=%(objectname) %(objecttype)"], stdin=queries)
    answers = decode_path(raw).splitlines()
    if len(answers) != len(names):
        raise GitError(f"git cat-file answered {len(answers)} of {len(names)} queries")
    found: list[str | None] = []
    for answer in answers:
        name, _, kind = answer.partition(" ")
        found.append(name if kind == "blob" else None)
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


def blobs_at(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The contents of ``paths`` at commit ``rev`` (None where it has no blob there): one
    ``git cat-file --batch-check`` and one ``git cat-file --batch``."""
    ids = dict(zip(paths, _blob_ids(repo, [f"{rev}:{path}" for path in paths]), strict=True))
    contents = read_blobs(repo, [blob for blob in ids.values() if blob is not None])
    return {path: None if blob is None else contents[blob] for path, blob in ids.items()}
