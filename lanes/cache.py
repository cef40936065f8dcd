"""On-disk cache of the derived index, keyed by the content hash of its inputs.

The key covers the configuration text and every manifest discovery would read, so any edit
rebuilds the index and a warm run skips discovery parsing and graph building entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from lanes.index import FORMAT_VERSION, Index


def cache_dir(repo: Path) -> Path:
    """``$LANES_CACHE_DIR``, else ``<repo>/.git/lanes-cache``, else the user cache directory."""
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return Path(explicit)
    git_dir = repo / ".git"
    if git_dir.is_dir():
        return git_dir / "lanes-cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lanes" / hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]


def input_key(repo: Path, config_digest: str, manifests: dict[str, list[str]]) -> str:
    digest = hashlib.sha256(f"index-v{FORMAT_VERSION}\0{config_digest}\0".encode())
    for kind in sorted(manifests):
        digest.update(f"kind\0{kind}\0".encode())
        for manifest in manifests[kind]:
            try:
                content = (repo / manifest).read_bytes()
            except OSError as error:
                content = f"<unreadable: {error.strerror}>".encode()
            digest.update(manifest.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def load(repo: Path, key: str) -> Index | None:
    try:
        data = json.loads((cache_dir(repo) / f"index-{key}.json").read_text("utf-8"))
        return Index.from_json(data)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def store(repo: Path, key: str, index: Index) -> None:
    """Write atomically; a cache that cannot be written is not an error."""
    directory = cache_dir(repo)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("index-*.json"):
            if stale.name != f"index-{key}.json":
                stale.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as handle:
            json.dump(index.to_json(), handle, separators=(",", ":"))
        os.replace(handle.name, directory / f"index-{key}.json")
    except OSError:
        return
