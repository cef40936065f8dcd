"""A workspace loaded from a revision's tree, for the coverage "at B" of a release audit.

Choice: B's tree is materialised in a temporary directory *without a checkout*: every directory
of B (``git ls-tree -r -t``), and, read as raw blobs (``git cat-file --batch``: no hooks, no
smudge or LFS filters, no ``export-ignore``), every file discovery reads (manifests and
lockfiles, by name) and the configuration file; the workspace is loaded there. Nothing else is
written, so the cost follows the number of manifests rather than the size of the tree; the
tracked-file list of the coverage audit comes from ``git ls-tree`` of B directly. Symbolic links
and submodules are not materialised (discovery reads neither). Paths git would never write
(absolute, ``..``, ``.git``) are refused.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lanes.discovery import DISCOVERY_FILES
from lanes.git import objects
from lanes.git.parse import decode_path
from lanes.git.revs import check_rev
from lanes.git.runner import GitError, run_git
from lanes.workspace import Workspace, load_workspace

REGULAR_MODES = ("100644", "100755")
"""The modes of the files materialised (symbolic links and submodules are not)."""


def tree_entries(
    repo: Path, rev: str, *, trees: bool = True
) -> Iterator[tuple[str, str, str, str]]:
    """(mode, type, object id, path) of every entry of ``rev``'s tree (trees too unless
    ``trees`` is False), from one ``git ls-tree -r``."""
    listed = ["-t"] if trees else []
    args = ["ls-tree", "-r", *listed, "-z", "--full-tree", "--end-of-options", check_rev(rev)]
    for record in run_git(repo, args).split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, kind, oid = decode_path(meta).split()
            yield mode, kind, oid, _safe(decode_path(path))


def _safe(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(part in ("", ".", "..", ".git") for part in parts):
        raise GitError(f"refusing tree path {path!r}")
    return path


@contextmanager
def workspace_at(
    repo: Path, rev: str, config_path: str | None, explicit: Path | None = None
) -> Iterator[Workspace]:
    """The workspace of ``rev``'s tree: its manifests and, when ``config_path`` (repository-
    relative) exists there, its configuration; ``explicit`` (a configuration outside the
    repository) instead; else the no-config default. The index is built afresh (a temporary
    directory has no cache of its own); parsed configurations and manifests still come from
    their content-keyed caches."""
    with tempfile.TemporaryDirectory(prefix="lanes-tree-") as directory:
        root = Path(directory)
        wanted: dict[str, str] = {}
        for mode, kind, oid, path in tree_entries(repo, rev):
            if kind == "tree":
                (root / path).mkdir(parents=True, exist_ok=True)
            elif mode in REGULAR_MODES and read_by_discovery(path, config_path):
                wanted[path] = oid
        contents = objects.read_blobs(repo, wanted.values())
        for path, oid in wanted.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents[oid])
        config = root / config_path if config_path and config_path in wanted else explicit
        yield load_workspace(os.fspath(root), config, use_cache=False)


def read_by_discovery(path: str, config_path: str | None) -> bool:
    """Whether discovery (or loading the configuration) reads ``path``."""
    return path == config_path or path.rpartition("/")[2] in DISCOVERY_FILES
