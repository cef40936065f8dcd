"""The one interface discovery reads a repository through: a :class:`Tree`.

Every ecosystem module reads files, tests paths, lists directories and resolves symbolic links
only through a ``Tree``, so the same discovery runs on the work tree (:class:`WorkTree`, plain
``os`` calls) and on a git revision (:class:`lanes.git.tree.RevisionTree`, git objects, no
checkout). Paths are repository-relative POSIX paths, ``""`` for the root.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple, Protocol

from lanes.digest import sha256
from lanes.model import StrPath

if TYPE_CHECKING:
    from lanes.discovery._tree import Tree as Listing


class Entry(NamedTuple):
    """One entry of a directory: ``is_dir`` follows symbolic links, ``is_link`` says whether it
    is one."""

    name: str
    is_dir: bool
    is_link: bool


class Tree(Protocol):
    """What discovery reads. ``root`` is the resolved path of the repository's work tree:
    absolute paths in manifests are resolved against it, and it names a root package of last
    resort."""

    root: str

    def read(self, path: str) -> bytes | None:
        """The bytes of the file at ``path`` (symbolic links followed); None when nothing is
        there; :class:`OSError` when something is there that cannot be read (a directory)."""
        ...

    def size(self, path: str) -> int:
        """The size of the file at ``path``; :class:`OSError` when it cannot be read."""
        ...

    def is_file(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def is_link(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool:
        """Whether anything is at ``path`` (a dangling symbolic link too)."""
        ...

    def list_dir(self, directory: str) -> list[Entry]:
        """The entries of ``directory`` (``[]`` when it is none)."""
        ...

    def resolve(self, path: str) -> str | None:
        """``path`` (absolute, or relative to the root, ``..`` allowed and applied lexically
        first, as Cargo does) with its symbolic links followed, relative to the root; None when
        it lies outside the repository."""
        ...

    def manifests(self) -> Listing:
        """Every manifest file of the repository (:mod:`lanes.discovery._tree`)."""
        ...

    def links(self) -> Listing:
        """Every symbolic link the repository tracks (``truncated`` when the listing may have
        missed some)."""
        ...

    def identity(self, path: str) -> str:
        """What identifies the content at ``path`` for cache keys (it changes with the content)."""
        ...


def inside(root: str, real: str) -> str | None:
    """The absolute ``real`` relative to ``root`` (both resolved), or None outside it."""
    if real == root:
        return ""
    prefix = root.rstrip(os.sep) + os.sep
    if not real.startswith(prefix):
        return None
    return real[len(prefix) :].replace(os.sep, "/")


class WorkTree:
    """The files of a directory on disk, read with plain ``os`` calls (the work tree)."""

    def __init__(self, repo: StrPath) -> None:
        self.path = os.fspath(repo)
        self.root = os.path.realpath(self.path)

    def __str__(self) -> str:
        return self.path

    def _at(self, path: str) -> str:
        return os.path.join(self.path, path) if path else self.path

    def read(self, path: str) -> bytes | None:
        # Plain os.open / os.read: this runs for every member manifest on every invocation.
        try:
            handle = os.open(self._at(path), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        chunks = []
        try:
            while chunk := os.read(handle, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(handle)
        return b"".join(chunks)

    def size(self, path: str) -> int:
        return os.path.getsize(self._at(path))

    def is_file(self, path: str) -> bool:
        return os.path.isfile(self._at(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self._at(path))

    def is_link(self, path: str) -> bool:
        return os.path.islink(self._at(path))

    def exists(self, path: str) -> bool:
        return os.path.lexists(self._at(path))

    def list_dir(self, directory: str) -> list[Entry]:
        try:
            with os.scandir(self._at(directory)) as entries:
                return [Entry(e.name, _is_dir(e), e.is_symlink()) for e in entries]
        except OSError:
            return []

    def resolve(self, path: str) -> str | None:
        return inside(self.root, os.path.realpath(os.path.normpath(self._at(path))))

    def manifests(self) -> Listing:
        from lanes.discovery._tree import manifests

        return manifests(self.path)

    def links(self) -> Listing:
        from lanes.discovery._tree import links

        return links(self.path)

    def identity(self, path: str) -> str:
        try:
            content = self.read(path)
        except OSError as error:
            return unreadable(error.strerror)
        return content_identity(content)


def content_identity(content: bytes | None) -> str:
    """The work tree's identity of a file's ``content`` (None: nothing there)."""
    if content is None:
        return unreadable("No such file or directory")
    return sha256(content).hexdigest()


def unreadable(reason: str | None) -> str:
    """The identity of a file that cannot be read, for ``reason``."""
    return f"<unreadable: {reason}>"


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


Source = Tree | StrPath
"""A :class:`Tree`, or the path of a work tree (what the discovery functions accept)."""


def as_tree(repo: Source) -> Tree:
    """``repo`` itself when it is a :class:`Tree`, else the work tree at that path."""
    if isinstance(repo, (str, os.PathLike)):
        return WorkTree(repo)
    return repo
