"""Changed paths given as a list (``--paths-from-stdin``, ``--paths-file``) rather than by git.

Kept apart from ``lanes.git`` so that reading a list never imports git machinery: this is
the hot path of ``lanes detect --paths-from-stdin``.
"""

from __future__ import annotations

from lanes.model import ChangeSet


def basis(method: str, separator: str) -> dict[str, object]:
    """The same keys every git method records (see ``lanes.git.basis``), for a listed change."""
    return {
        "method": method,
        "base_ref": None,
        "head_ref": None,
        "base": None,
        "head": None,
        "merge_base": None,
        "merge_bases": [],
        "base_is_ancestor": None,
        "depth_fetched": 0,
        "base_fetched": False,
        "fallback": None,
        "shallow": False,
        "separator": separator,
    }


def _normalize(path: str) -> str:
    """``./`` prefixes, ``/./`` and ``//`` inside are dropped (they cannot change what a path
    names). ``..`` is left alone: the engine fails safe on it (``unclear-path``) rather than
    guess what a listed ``app/../util/u.rs`` meant through possible symbolic links."""
    while path.startswith("./"):
        path = path[2:]
    while "/./" in path:
        path = path.replace("/./", "/")
    while "//" in path[1:]:
        path = path[0] + path[1:].replace("//", "/")
    return path


def paths_from_stream(data: bytes, *, method: str = "stdin") -> ChangeSet:
    """Paths from a NUL-separated list (if ``data`` holds any NUL) or a newline-separated one
    (a trailing CR is dropped). Empty entries are dropped and ``./`` prefixes removed. Bytes are
    decoded as UTF-8 with ``surrogateescape``, so names that are not UTF-8 survive unchanged."""
    nul = b"\0" in data
    text = data.decode("utf-8", "surrogateescape")
    entries = set(text.split("\0" if nul else "\n"))
    if not nul:
        entries = {entry[:-1] if entry.endswith("\r") else entry for entry in entries}
    paths = {_normalize(entry) for entry in entries}
    paths.discard("")
    return ChangeSet(paths=sorted(paths), basis=basis(method, "nul" if nul else "newline"))
