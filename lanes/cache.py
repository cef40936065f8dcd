"""On-disk cache of the derived index, keyed by the content hash of its inputs.

The key covers the configuration text and every manifest discovery would read, so any edit
rebuilds the index and a warm run skips discovery parsing and graph building entirely.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanes.index import FORMAT_VERSION, Index

if TYPE_CHECKING:
    from lanes.config import Config


def cache_dir(repo: Path) -> Path:
    """``$LANES_CACHE_DIR``, else ``<repo>/.git/lanes-cache``, else the user cache directory."""
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return Path(explicit)
    git_dir = repo / ".git"
    if git_dir.is_dir():
        return git_dir / "lanes-cache"
    return user_cache_dir() / hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]


def user_cache_dir() -> Path:
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lanes"


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(directory: Path, name: str, data: Any, keep_prefix: str | None = None) -> None:
    """Write atomically; drop older entries with ``keep_prefix``; failures are not errors."""
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        if keep_prefix:
            for stale in directory.glob(f"{keep_prefix}*.json"):
                if stale.name != name:
                    stale.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(handle.name, directory / name)
    except OSError:
        return


def load(repo: Path, key: str) -> Index | None:
    data = _read_json(cache_dir(repo) / f"index-{key}.json")
    try:
        return None if data is None else Index.from_json(data)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def store(repo: Path, key: str, index: Index) -> None:
    _write_json(cache_dir(repo), f"index-{key}.json", index.to_json(), keep_prefix="index-")


def _config_name(digest: str, display: str) -> str:
    key = hashlib.sha256(f"config-v1\0{digest}\0{display}".encode("utf-8", "surrogateescape"))
    return f"config-{key.hexdigest()}.json"


def load_config(digest: str, display: str) -> Config | None:
    from lanes.config import Config

    data = _read_json(user_cache_dir() / "configs" / _config_name(digest, display))
    try:
        return None if data is None else Config.from_json(data)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def store_config(digest: str, display: str, config: Config) -> None:
    _write_json(user_cache_dir() / "configs", _config_name(digest, display), config.to_json())


def content_key(kind: str, text: str) -> str:
    return hashlib.sha256(
        f"{kind}\0".encode() + text.encode("utf-8", "surrogateescape")
    ).hexdigest()


def load_document(key: str) -> Any:
    """A parsed document cached under ``key`` (None when absent or unreadable)."""
    return _read_json(user_cache_dir() / "documents" / f"{key}.json")


def store_document(key: str, data: Any) -> None:
    """Cache ``data`` only when JSON round-trips it exactly (TOML dates do not)."""
    try:
        if json.loads(json.dumps(data)) != data:
            return
    except (TypeError, ValueError):
        return
    _write_json(user_cache_dir() / "documents", f"{key}.json", data)
