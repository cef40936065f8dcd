"""A git revision as a :class:`~lanes.discovery._source.Tree`: discovery reads a commit's
manifests from git objects, without a checkout or a temporary directory.

* The whole tree is listed once (``git ls-tree -r -t -z --full-tree``): paths, modes and object
  ids, directories included, so every ``is_file``, ``is_dir``, directory listing and content
  identity (the blob id) is answered without another process.
* Contents are read lazily: the first read fetches, in one ``git cat-file --batch``, every blob
  discovery may read (the files named in :data:`lanes.discovery.DISCOVERY_FILES`, the
  ``extra`` paths such as the configuration, and the symbolic links); a blob outside that set
  costs one more ``git cat-file`` when it is read.
* A symbolic link is a blob of mode 120000 holding its target; links are followed inside the
  repository as ``os.path.realpath`` follows them in a work tree (a relative target from the
  link's directory, an absolute one against the work tree's location).
* Every git command goes through :mod:`lanes.git.runner` (bounded, its process group killed on
  timeout). A revision git cannot list is :class:`RevisionUnavailable`; a blob git cannot read
  is a :class:`~lanes.git.runner.GitError` raised from the read, never a missing file.
* Every answer is recorded (:meth:`RevisionTree.observed`) so an index built from this tree can
  be cached under what discovery read, and reused for another revision that answers the same
  (:meth:`RevisionTree.answers`).
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lanes.discovery import DISCOVERY_FILES
from lanes.discovery._source import Entry, inside
from lanes.git import objects
from lanes.git.parse import decode_path
from lanes.git.revs import check_rev
from lanes.git.runner import GitError, run_git

if TYPE_CHECKING:
    from lanes.discovery._tree import Tree as Listing

LINK = "120000"
REGULAR_MODES = ("100644", "100755")
MAX_LINK_HOPS = 40
"""Symbolic links followed for one path before it counts as unresolvable (a loop)."""


class RevisionUnavailable(GitError):
    """The revision cannot be read: absent from this clone, not a commit or tree, or git
    failed listing it."""


class _Item(NamedTuple):
    mode: str
    kind: str  # blob, tree or commit (a submodule)
    oid: str


def _safe(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..", ".git") for part in parts):
        raise GitError(f"refusing tree path {path!r}")
    return path


def list_tree(repo: Path, rev: str) -> dict[str, _Item]:
    """Every entry of ``rev``'s tree (directories too), from one ``git ls-tree``."""
    args = ["ls-tree", "-r", "-t", "-z", "--full-tree", "--end-of-options", check_rev(rev)]
    try:
        raw = run_git(repo, args)
    except GitError as error:
        raise RevisionUnavailable(f"cannot read the tree of {rev!r}: {error}") from error
    items: dict[str, _Item] = {}
    for record in raw.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, kind, oid = decode_path(meta).split()
            items[_safe(decode_path(path))] = _Item(mode, kind, oid)
    return items


class RevisionTree:
    """The tree of ``rev`` in ``repo``, read through git objects (see the module docstring)."""

    def __init__(self, repo: Path, rev: str, extra: Iterable[str] = ()) -> None:
        self.repo = Path(repo)
        self.rev = rev
        self.root = os.path.realpath(repo)
        self._items = list_tree(self.repo, rev)
        self._children: dict[str, list[str]] = {"": []}
        for path in self._items:
            parent, _, name = path.rpartition("/")
            self._children.setdefault(parent, []).append(name)
        wanted = set(extra)
        blobs = [(path, item) for path, item in self._items.items() if item.kind == "blob"]
        self._links = {item.oid for _, item in blobs if item.mode == LINK}
        self._files = {
            item.oid
            for path, item in blobs
            if item.mode != LINK and (path in wanted or _name(path) in DISCOVERY_FILES)
        }
        self._blobs: dict[str, bytes] = {}
        self._listing: Listing | None = None
        self._observed: dict[str, Any] = {}

    # --- the Tree interface, every answer recorded -------------------------------------------

    def read(self, path: str) -> bytes | None:
        self._note("identity", path)
        item = self._item(path)
        if item is None:
            return None
        if item.kind != "blob":
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        return self._blob(item.oid)

    def size(self, path: str) -> int:
        content = self.read(path)
        if content is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        return len(content)

    def is_file(self, path: str) -> bool:
        return bool(self._note("is_file", path))

    def is_dir(self, path: str) -> bool:
        return bool(self._note("is_dir", path))

    def is_link(self, path: str) -> bool:
        return bool(self._note("is_link", path))

    def exists(self, path: str) -> bool:
        return bool(self._note("exists", path))

    def list_dir(self, directory: str) -> list[Entry]:
        return [Entry(*entry) for entry in self._note("list_dir", directory)]

    def mode(self, path: str) -> str | None:
        """The mode of the entry at ``path`` itself (a link is not followed), None if absent."""
        item = self._item(path, follow_last=False)
        return item.mode if item is not None else None

    def resolve(self, path: str) -> str | None:
        found = self._note("resolve", path)
        return found if isinstance(found, str) else None

    def manifests(self) -> Listing:
        from lanes.discovery._tree import Tree as Listing

        return Listing(tuple(self._note("manifests", "")))

    def links(self) -> Listing:
        """The blobs of mode 120000, from the listing (no blob is read)."""
        from lanes.discovery._tree import Tree as Listing

        return Listing(tuple(self._note("links", "")))

    def identity(self, path: str) -> str:
        return str(self._note("identity", path))

    # --- what discovery read ----------------------------------------------------------------

    def observed(self) -> dict[str, Any]:
        """Every question asked of this tree so far, with its answer (JSON values)."""
        return dict(self._observed)

    def answers(self, questions: Iterable[str]) -> dict[str, Any]:
        """This tree's answers to ``questions`` (keys of another tree's :meth:`observed`)."""
        found = {}
        for question in questions:
            operation, _, path = question.partition("\0")
            found[question] = self._answer(operation, path)
        return found

    def _note(self, operation: str, path: str) -> Any:
        question = f"{operation}\0{path}"
        if question in self._observed:
            return self._observed[question]
        answer = self._observed[question] = self._answer(operation, path)
        return answer

    def _answer(self, operation: str, path: str) -> Any:
        if operation == "manifests":
            return list(self._manifests().paths)
        if operation == "links":
            return sorted(p for p, item in self._items.items() if item.mode == LINK)
        if operation == "resolve":
            return self._resolve(path)
        if operation == "list_dir":
            return self._list_dir(path)
        if operation in ("is_link", "exists"):
            item = self._item(path, follow_last=False)
            return item is not None and (operation == "exists" or item.mode == LINK)
        real = self._real(path)
        item = self._items.get(real) if real else None
        if operation == "is_dir":
            return real == "" or (item is not None and item.kind != "blob")
        if operation == "is_file":
            return item is not None and item.kind == "blob" and item.mode != LINK
        if operation == "identity":
            return _identity(real, item)
        raise ValueError(f"unknown tree question {operation!r}")

    # --- reading the listing ----------------------------------------------------------------

    def _manifests(self) -> Listing:
        from lanes.discovery._tree import Tree as Listing
        from lanes.discovery._tree import kept

        if self._listing is None:
            paths = {p for p, item in self._items.items() if item.kind == "blob" and kept(p)}
            scripts = self._scripts()
            self._files |= {self._items[p].oid for p in scripts}  # read with the manifests
            self._listing = Listing(tuple(sorted(paths | set(scripts))))
        return self._listing

    def _scripts(self) -> list[str]:
        """The regular files of the revision that open a PEP 723 ``script`` block."""
        from lanes.discovery._tree import SCRIPT_SUFFIX, grep_scripts

        if not any(p.endswith(SCRIPT_SUFFIX) for p in self._items):
            return []
        found = grep_scripts(str(self.repo), [check_rev(self.rev)])
        if found is None:
            raise GitError(f"cannot list the PEP 723 scripts of {self.rev!r}")
        return [p for p in found if p in self._items and self._items[p].mode in REGULAR_MODES]

    def _list_dir(self, directory: str) -> list[list[str | bool]]:
        real = self._real(directory)
        if real is None or not (real == "" or self._kind(real) != "blob"):
            return []
        entries: list[list[str | bool]] = []
        for name in sorted(self._children.get(real, [])):
            path = f"{real}/{name}" if real else name
            item = self._items[path]
            is_link = item.mode == LINK
            is_dir = item.kind != "blob" or (is_link and self._answer("is_dir", path))
            entries.append([name, bool(is_dir), is_link])  # a list, as JSON gives it back
        return entries

    def _kind(self, real: str) -> str | None:
        item = self._items.get(real)
        return item.kind if item is not None else None

    def _item(self, path: str, *, follow_last: bool = True) -> _Item | None:
        real = self._real(path, follow_last=follow_last)
        if real == "":
            return _Item("040000", "tree", "")
        return self._items.get(real) if real is not None else None

    def _resolve(self, path: str) -> str | None:
        relative = inside(self.root, os.path.normpath(os.path.join(self.root, path)))
        return None if relative is None else self._real(relative)

    def _real(self, path: str, *, follow_last: bool = True) -> str | None:
        """``path`` (relative to the root) with its links followed; None outside the
        repository or through a loop."""
        pending = [part for part in path.split("/") if part not in ("", ".")]
        pending.reverse()
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop()
            if part == "..":
                if not resolved:
                    return None
                resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            item = self._items.get(candidate)
            if item is None or item.mode != LINK or not (pending or follow_last):
                resolved.append(part)
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                return None
            target = decode_path(self._blob(item.oid, link=True))
            if target.startswith("/"):
                relative = inside(self.root, os.path.normpath(target))
                if relative is None:
                    return None
                resolved, target = [], relative
            pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
        return "/".join(resolved)

    def _blob(self, oid: str, *, link: bool = False) -> bytes:
        """A blob's content. The first read of a file fetches every file discovery may read
        and every link, in one batch; the first read of a ``link`` only the links (checking a
        cached index follows links but reads no file)."""
        found = self._blobs.get(oid)
        if found is None:
            batch = {oid, *self._links}
            self._links = set()
            if not link:
                batch |= self._files
                self._files = set()
            self._blobs.update(objects.read_blobs(self.repo, sorted(batch - self._blobs.keys())))
            found = self._blobs[oid]
        return found


def _name(path: str) -> str:
    return posixpath.basename(path)


def _identity(real: str | None, item: _Item | None) -> str:
    if real == "" or (item is not None and item.kind != "blob"):
        return "<directory>"
    if item is None:
        return "<absent>"
    return f"{item.mode} {item.oid}"
