"""What discovery observed in the work tree, recorded so that the next run can re-check it with
``stat`` calls instead of locating every manifest again.

Locating runs on every invocation (the index cache key covers every file discovery would read),
and in a large Cargo workspace that means reading and scanning every member manifest. The first
run locates through an :class:`ObservingTree`, which records each observation: the files it
read (with their stat signature and content identity), the directories it listed, and the
answers of every other query (``is_file``, ``resolve``, the manifest listing ...). A later run
replays the record (:func:`still_true`): a file whose signature (device, inode, mode, size,
modification and change times) is unchanged has the same content, as git assumes for its index;
a file or directory changed within :data:`RACY_SECONDS` of being observed is read or listed
again, because a second change within the file system's timestamp granularity could leave the
signature as it was. Every other answer is asked again. Any difference and the work tree is
located afresh. Only the work tree is observed: a revision's tree is immutable.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from lanes.discovery._source import Entry, WorkTree, content_identity, unreadable

if TYPE_CHECKING:
    from lanes.discovery._tree import Tree as Listing

RACY_SECONDS = 2.0
"""A file or directory whose modification or change time is this close to (or after) the moment
it was observed is looked at again on the next run rather than trusted by its signature."""
_FORMAT = 1
_T = TypeVar("_T")
_QUERIES = ("is_file", "is_dir", "is_link", "exists", "size", "resolve")


def signature(path: str) -> list[int] | None:
    """What changes whenever the file or directory at ``path`` does (None: nothing there)."""
    try:
        return _signature(os.stat(path))
    except (OSError, ValueError):
        return None


def _signature(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _listing(entries: list[Entry]) -> list[list[Any]]:
    return sorted([entry.name, entry.is_dir, entry.is_link] for entry in entries)


class ObservingTree(WorkTree):
    """A :class:`WorkTree` that records what it is asked and what it answered."""

    def __init__(self, repo: str) -> None:
        super().__init__(repo)
        self.started = time.time_ns()
        self.files: dict[str, list[Any]] = {}  # path -> [signature or None, identity]
        self.listings: dict[str, list[Any]] = {}  # directory -> [signature or None, entries]
        self.answers: dict[str, dict[str, Any]] = {query: {} for query in _QUERIES}
        self.manifest_listing: list[Any] | None = None

    def read(self, path: str) -> bytes | None:
        full = self._at(path)
        before = signature(full)
        try:
            content = super().read(path)
        except OSError as error:
            self.files[path] = [None, unreadable(error.strerror)]
            raise
        steady = before if content is not None and signature(full) == before else None
        self.files[path] = [steady, content_identity(content)]
        return content

    def identity(self, path: str) -> str:
        seen = self.files.get(path)
        if seen is None:
            with contextlib.suppress(OSError):  # the identity says it is unreadable
                self.read(path)
            seen = self.files[path]
        identity: str = seen[1]
        return identity

    def list_dir(self, directory: str) -> list[Entry]:
        full = self._at(directory)
        before = signature(full)
        entries = super().list_dir(directory)
        steady = before if signature(full) == before else None
        self.listings[directory] = [steady, _listing(entries)]
        return entries

    def is_file(self, path: str) -> bool:
        return self._answer("is_file", path, super().is_file(path))

    def is_dir(self, path: str) -> bool:
        return self._answer("is_dir", path, super().is_dir(path))

    def is_link(self, path: str) -> bool:
        return self._answer("is_link", path, super().is_link(path))

    def exists(self, path: str) -> bool:
        return self._answer("exists", path, super().exists(path))

    def size(self, path: str) -> int:
        try:
            size = super().size(path)
        except OSError as error:
            self.answers["size"][path] = unreadable(error.strerror)
            raise
        return self._answer("size", path, size)

    def resolve(self, path: str) -> str | None:
        return self._answer("resolve", path, super().resolve(path))

    def manifests(self) -> Listing:
        listing = super().manifests()
        self.manifest_listing = [list(listing.paths), listing.truncated]
        return listing

    def _answer(self, query: str, path: str, value: _T) -> _T:
        self.answers[query][path] = value
        return value

    def record(self, located: dict[str, list[str]]) -> dict[str, Any]:
        """The observations as JSON data, with ``located`` (what locating concluded); the
        signatures of whatever changed too recently to be trusted are left out."""
        recent = _horizon(self.started)
        return {
            "format": _FORMAT,
            "located": located,
            "files": {path: [_trusted(s, recent), i] for path, (s, i) in self.files.items()},
            "listings": {path: [_trusted(s, recent), e] for path, (s, e) in self.listings.items()},
            "answers": self.answers,
            "manifests": self.manifest_listing,
        }


class Replay(NamedTuple):
    """A record that still holds: what locating concluded, and whether signatures were added
    to it (files or directories read again because they had none, now old enough to trust):
    store it again so that the next run need not read them."""

    located: dict[str, list[str]]
    refreshed: bool


def still_true(record: Any, tree: WorkTree) -> Replay | None:
    """``record``'s located manifests when every observation in it still holds for ``tree``
    (None when anything differs, or the record is not one)."""
    try:
        if record.get("format") != _FORMAT:
            return None
        check = _Check(tree)
        holds = (
            check.files(record["files"])
            and check.listings(record["listings"])
            and check.answers(record["answers"])
            and check.manifests(record["manifests"])
        )
        located = record["located"]
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    if not holds or not _is_located(located):
        return None
    return Replay(located, check.refreshed)


def _horizon(observed_at: int) -> int:
    """The time (ns) from which a change is too recent, for an observation at ``observed_at``."""
    return observed_at - int(RACY_SECONDS * 1e9)


def _trusted(sig: list[int] | None, recent: int) -> list[int] | None:
    """``sig`` unless its file changed at or after ``recent`` (ns), too recently to trust."""
    if sig is not None and max(sig[4], sig[5]) >= recent:
        return None
    return sig


def _is_located(located: Any) -> bool:
    """Whether ``located`` has the shape locating gives (kind -> list of paths)."""
    return isinstance(located, dict) and all(
        isinstance(kind, str) and isinstance(paths, list) and all(isinstance(p, str) for p in paths)
        for kind, paths in located.items()
    )


def identities(record: Any) -> dict[str, str]:
    """The content identity of each file ``record`` read (valid once :func:`still_true`)."""
    return {path: seen[1] for path, seen in record["files"].items()}


class _Check:
    """Re-asks a record's observations of ``tree``, with one ``stat`` per path: the answers of
    ``is_file``, ``is_dir`` and the signatures all come from it, as ``os.path`` computes them."""

    def __init__(self, tree: WorkTree) -> None:
        self.tree = tree
        self.prefix = tree.path.rstrip("/") + "/"
        self.stats: dict[str, os.stat_result | None] = {}
        self.recent = _horizon(time.time_ns())
        self.refreshed = False

    def stat(self, path: str) -> os.stat_result | None:
        if path in self.stats:
            return self.stats[path]
        try:
            found: os.stat_result | None = os.stat(self.prefix + path if path else self.tree.path)
        except (OSError, ValueError):
            found = None
        self.stats[path] = found
        return found

    def signature(self, path: str) -> list[int] | None:
        st = self.stat(path)
        return None if st is None else _signature(st)

    def is_file(self, path: str) -> bool:
        st = self.stat(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def is_dir(self, path: str) -> bool:
        st = self.stat(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def files(self, files: dict[str, list[Any]]) -> bool:
        for path, seen in files.items():
            sig, identity = seen
            now = self.signature(path)  # taken before any read: a later change shows next run
            if sig is not None and now == sig:
                continue
            if self.tree.identity(path) != identity:
                return False
            self._refresh(seen, now)
        return True

    def _refresh(self, seen: list[Any], now: list[int] | None) -> None:
        """Give an observation that held the signature it has now, if that can be trusted."""
        trusted = _trusted(now, self.recent)
        if trusted is not None:
            seen[0] = trusted
            self.refreshed = True

    def listings(self, listings: dict[str, list[Any]]) -> bool:
        for directory, (sig, entries) in listings.items():
            now = self.signature(directory)
            if sig is not None and now == sig:
                # Names and kinds stand while the directory is unchanged, except where an entry
                # is a symbolic link: its target can turn from a directory into a file.
                if all(self.is_dir(_joined(directory, e[0])) == e[1] for e in entries if e[2]):
                    continue
                return False
            if _listing(self.tree.list_dir(directory)) != entries:
                return False
            self._refresh(listings[directory], now)
        return True

    def answers(self, answers: dict[str, dict[str, Any]]) -> bool:
        for query, asked in answers.items():
            if query not in _QUERIES:
                return False
            ask = getattr(self, query, None) or getattr(self.tree, query)
            for path, value in asked.items():
                try:
                    now = ask(path)
                except OSError as error:
                    now = unreadable(error.strerror)
                if now != value:
                    return False
        return True

    def manifests(self, listing: list[Any] | None) -> bool:
        if listing is None:
            return True
        now = self.tree.manifests()
        return [list(now.paths), now.truncated] == listing


def _joined(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
