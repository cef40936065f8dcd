"""The manifest files anywhere in a repository: from git's index, else a bounded walk.

Besides the manifests by name, the listing holds the Python files that open a PEP 723 inline
metadata block (a line ``# /// script``): ``git grep --cached`` of the index's blobs, cached with
the names; outside git, the walk reads the ``.py`` files of at most :data:`MAX_SCRIPT_BYTES`.

Projects are not always at the root (several linked projects, a workspace in a subdirectory), so
discovery looks at every tracked manifest. In a git repository the list is ``git ls-files`` of the
manifest names, cached under the index file's identity (inode, size, modification time): git
rewrites the index whenever the tracked files change, so a warm run costs one ``stat`` and no
process. Outside git (or without an index) a walk lists them, skipping virtual environments,
``node_modules`` and hidden directories, and stops after :data:`MAX_DIRECTORIES` directories
(``truncated`` then tells discovery to record a reason code rather than miss a project quietly).
"""

import os
import re
from collections.abc import Callable
from typing import NamedTuple

from lanes.model import StrPath

MANIFEST_NAMES = frozenset(
    {"pyproject.toml", "uv.lock", "Cargo.toml", "package.json", "pnpm-workspace.yaml"}
)
SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", ".venv", "venv", ".tox", ".nox", ".git"}
)
MAX_DIRECTORIES = 20_000
MAX_SCRIPT_BYTES = 1 << 20
"""A ``.py`` file larger than this is not read for a PEP 723 block by the walk (outside git)."""
SCRIPT_SUFFIX = ".py"
# The opening line of a PEP 723 block of type ``script`` (what uv runs); a CRLF line too.
SCRIPT_OPENING = r"^# /// script\r?$"
_SCRIPT_LINE = re.compile(SCRIPT_OPENING.encode(), re.M)
_FORMAT = 2
_NO_INDEX = ("no-index",)


class Tree(NamedTuple):
    """Repository-relative POSIX paths of manifest files, sorted; ``truncated`` if the walk
    stopped at its bound."""

    paths: tuple[str, ...]
    truncated: bool = False

    def named(self, name: str) -> list[str]:
        return [p for p in self.paths if p == name or p.endswith(f"/{name}")]

    def scripts(self) -> list[str]:
        """The Python files that open a PEP 723 ``script`` block."""
        return [p for p in self.paths if p.endswith(SCRIPT_SUFFIX)]


_memo: dict[tuple[str, object], Tree] = {}


def manifests(repo: StrPath) -> Tree:
    """Every manifest file of ``repo`` (tracked ones in a git repository)."""
    root = os.fspath(repo)
    index = _git_index(root)
    if index is None:
        return _walk(root)  # not memoised: the tree may change between calls
    identity = _identity(index)
    if identity == _NO_INDEX:  # nothing tracked yet (a fresh `git init`): walk, as outside git
        return _walk(root)
    memo_key = (os.path.realpath(root), identity)
    found = _memo.get(memo_key)
    if found is None:
        found = _tracked(root, index, identity)
        _memo[memo_key] = found
    return found


def _git_index(root: str) -> str | None:
    """The index file of the repository whose work tree is ``root``, if it is one."""
    dot_git = os.path.join(root, ".git")
    if os.path.isdir(dot_git):
        return os.path.join(dot_git, "index")
    try:
        with open(dot_git, encoding="utf-8") as handle:  # a worktree or submodule: "gitdir: X"
            line = handle.readline().strip()
    except OSError:
        return None
    if not line.startswith("gitdir:"):
        return None
    git_dir = line[len("gitdir:") :].strip()
    return os.path.join(os.path.join(root, git_dir), "index")


def _identity(index: str) -> object:
    try:
        stat = os.stat(index)
    except OSError:
        return _NO_INDEX
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _tracked(root: str, index: str, identity: object) -> Tree:
    listed = _cached_listing(root, "tree", _FORMAT, index, identity, _ls_files)
    return _walk(root) if listed is None else Tree(tuple(listed))


def _cached_listing(
    root: str,
    name: str,
    version: int,
    index: str,
    identity: object,
    list_now: Callable[[str], tuple[str, ...] | None],
) -> tuple[str, ...] | None:
    """What ``list_now`` (a ``git ls-files`` of ``root``) answers, cached under the identity
    of git's index file, which every change to the tracked files rewrites; None when git
    cannot say (not cached, so the next run asks again)."""
    from lanes import cache

    key = cache.content_key(name, f"{version}\0{os.path.realpath(index)}\0{identity}")
    cached = cache.load_listing(root, key)
    if isinstance(cached, list) and all(isinstance(p, str) for p in cached):
        return tuple(cached)
    listed = list_now(root)
    if listed is not None:
        cache.store_listing(root, key, list(listed))
    return listed


def _ls_files(root: str) -> tuple[str, ...] | None:
    """``git ls-files`` of the manifest names, run like every git command of lanes (the same
    executable, environment, time limit and process-group kill); None when git fails, is
    missing or hangs."""
    from lanes.git.runner import GitError, output

    specs = [f":(glob)**/{name}" for name in sorted(MANIFEST_NAMES)]
    args = ["-c", "core.quotePath=false", "ls-files", "-z", "--cached", "--", *specs]
    try:
        stdout = output(root, args)
    except GitError:
        return None
    scripts = grep_scripts(root, ["--cached"])
    if scripts is None:
        return None
    paths = {raw.decode("utf-8", "surrogateescape") for raw in stdout.split(b"\0") if raw}
    return tuple(sorted({*(p for p in paths if kept(p)), *scripts}))


def grep_scripts(root: str, where: list[str]) -> list[str] | None:
    """The ``.py`` files that open a PEP 723 ``script`` block, by ``git grep -l`` in ``where``
    (``--cached``: the index's blobs; a revision: ``REV:path`` names), outside the directories
    discovery skips; None when git fails."""
    from lanes.git.runner import GitError, run

    args = [
        *("-c", "core.quotePath=false", "grep", "-l", "-z", "-I", "--no-color", "-E"),
        *("-e", SCRIPT_OPENING.replace("\\r", "\r"), *where, "--", f":(glob)**/*{SCRIPT_SUFFIX}"),
    ]
    try:
        result = run(root, args)
    except GitError:
        return None
    if result.returncode not in (0, 1):  # 1: nothing matched
        return None
    prefix = f"{where[0]}:" if where and not where[0].startswith("-") else ""
    found = []
    for raw in result.stdout.split(b"\0"):
        path = raw.decode("utf-8", "surrogateescape").removeprefix(prefix)
        if path and SKIP_DIRS.isdisjoint(path.split("/")[:-1]):
            found.append(path)
    return found


def kept(path: str) -> bool:
    *directories, name = path.split("/")
    return name in MANIFEST_NAMES and SKIP_DIRS.isdisjoint(directories)


def _manifests_in(current: str, _dirs: list[str], files: list[str]) -> list[str]:
    return [
        name
        for name in files
        if name in MANIFEST_NAMES
        or (name.endswith(SCRIPT_SUFFIX) and _opens_script(os.path.join(current, name)))
    ]


def _opens_script(path: str) -> bool:
    """Whether the file at ``path`` (at most :data:`MAX_SCRIPT_BYTES`) has a PEP 723 opening."""
    try:
        if os.path.islink(path) or os.path.getsize(path) > MAX_SCRIPT_BYTES:
            return False
        with open(path, "rb") as handle:
            return _SCRIPT_LINE.search(handle.read(MAX_SCRIPT_BYTES)) is not None
    except OSError:
        return False


def _links_in(current: str, dirs: list[str], files: list[str]) -> list[str]:
    return [name for name in (*dirs, *files) if os.path.islink(os.path.join(current, name))]


def _walk(
    root: str, pick: Callable[[str, list[str], list[str]], list[str]] = _manifests_in
) -> Tree:
    """The entries ``pick`` chooses in each directory of a bounded walk (never into hidden or
    :data:`SKIP_DIRS` directories, nor through symbolic links)."""
    found: list[str] = []
    truncated = False
    for visited, (current, dirs, files) in enumerate(os.walk(root), start=1):
        if visited > MAX_DIRECTORIES:
            truncated = True
            break
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        relative = os.path.relpath(current, root).replace(os.sep, "/")
        prefix = "" if relative == "." else f"{relative}/"
        found += [f"{prefix}{name}" for name in pick(current, dirs, files)]
    return Tree(tuple(sorted(found)), truncated)


_LINKS_FORMAT = 1


def links(repo: StrPath) -> Tree:
    """The symbolic links git tracks in ``repo`` (``git ls-files -s``, mode 120000), cached
    under the index file's identity as the manifest list is; none outside git. When git cannot
    list them, every link a bounded walk finds (``truncated`` when the walk stopped early: the
    caller fails safe rather than miss one)."""
    root = os.fspath(repo)
    index = _git_index(root)
    if index is None:
        return Tree(())
    identity = _identity(index)
    if identity == _NO_INDEX:
        return Tree(())
    listed = _cached_listing(root, "links", _LINKS_FORMAT, index, identity, _ls_links)
    return _walk(root, _links_in) if listed is None else Tree(listed)


def _ls_links(root: str) -> tuple[str, ...] | None:
    """``git ls-files -s`` of ``root``: the paths of mode 120000 (None when git fails)."""
    from lanes.git.runner import GitError, output  # only on a miss: it imports subprocess

    try:
        stdout = output(root, ["-c", "core.quotePath=false", "ls-files", "-s", "-z", "--cached"])
    except GitError:
        return None
    found = [
        raw.partition(b"\t")[2].decode("utf-8", "surrogateescape")
        for raw in stdout.split(b"\0")
        if raw.startswith(b"120000 ")
    ]
    return tuple(sorted(found))
