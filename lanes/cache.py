"""On-disk cache of the derived index, keyed by the content hash of its inputs.

The key covers the configuration text and every manifest discovery would read, so any edit
rebuilds the index and a warm run skips discovery parsing and graph building entirely.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from typing import TYPE_CHECKING, Any

from lanes.index import FORMAT_VERSION, Index
from lanes.model import StrPath

if TYPE_CHECKING:
    from lanes.config import Config


def cache_dir(repo: StrPath) -> str:
    """``$LANES_CACHE_DIR``, else ``<repo>/.git/lanes-cache``, else the user cache directory."""
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return explicit
    git_dir = os.path.join(repo, ".git")
    if os.path.isdir(git_dir):
        return os.path.join(git_dir, "lanes-cache")
    name = hashlib.sha256(os.fsencode(os.path.realpath(repo))).hexdigest()[:16]
    return os.path.join(user_cache_dir(), name)


def user_cache_dir() -> str:
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lanes")


def input_key(repo: StrPath, config_digest: str, manifests: dict[str, list[str]]) -> str:
    digest = hashlib.sha256(f"index-v{FORMAT_VERSION}\0{config_digest}\0".encode())
    for kind in sorted(manifests):
        digest.update(f"kind\0{kind}\0".encode())
        for manifest in manifests[kind]:
            try:
                with open(os.path.join(repo, manifest), "rb") as handle:
                    content = handle.read()
            except OSError as error:
                content = f"<unreadable: {error.strerror}>".encode()
            digest.update(manifest.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return None


def _write_json(
    directory: str, name: str, data: Any, keep_prefix: str | None = None, keep: int = 0
) -> None:
    """Write atomically; keep the ``keep`` (default ``KEEP_ENTRIES``) newest entries with
    ``keep_prefix``; failures are not errors."""
    import tempfile

    try:
        os.makedirs(directory, exist_ok=True)
        if keep_prefix:
            _remove_stale(directory, keep_prefix, name, keep or KEEP_ENTRIES)
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(handle.name, os.path.join(directory, name))
    except OSError:
        return


KEEP_ENTRIES = 8
"""Index entries kept per repository: a history audit judges commits with several revisions of
the configuration (one index each), and switching branches should not rebuild either."""


KEEP_GRAPHS = 64
"""Workspaces at revisions kept per repository (one per distinct set of discovery inputs a
history audit met)."""


def _remove_stale(directory: str, prefix: str, keep: str, entries_kept: int) -> None:
    """Drop all but the ``entries_kept - 1`` newest entries with ``prefix`` (``keep`` is about
    to be written)."""
    entries = []
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry.endswith(".json") and entry != keep:
            with contextlib.suppress(FileNotFoundError):
                entries.append((os.stat(os.path.join(directory, entry)).st_mtime_ns, entry))
    for _, entry in sorted(entries, reverse=True)[entries_kept - 1 :]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, entry))


def load(repo: StrPath, key: str) -> Index | None:
    data = _read_json(os.path.join(cache_dir(repo), f"index-{key}.json"))
    try:
        return None if data is None else Index.from_json(data)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def store(repo: StrPath, key: str, index: Index) -> None:
    _write_json(cache_dir(repo), f"index-{key}.json", index.to_json(), keep_prefix="index-")


CONFIG_FORMAT = "config-v3"
"""v3: lane features/extras/groups, contract `exists`, stricter validation (reserved lane names,
plain integers, glob classes): a configuration cached by an older lanes is parsed again."""


def _config_name(digest: str, display: str) -> str:
    text = f"{CONFIG_FORMAT}\0{digest}\0{display}"
    key = hashlib.sha256(text.encode("utf-8", "surrogateescape"))
    return f"config-{key.hexdigest()}.json"


def load_config(digest: str, display: str) -> Config | None:
    from lanes.config import Config

    data = _read_json(os.path.join(user_cache_dir(), "configs", _config_name(digest, display)))
    try:
        return None if data is None else Config.from_json(data)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def store_config(digest: str, display: str, config: Config) -> None:
    directory = os.path.join(user_cache_dir(), "configs")
    _write_json(directory, _config_name(digest, display), config.to_json())


def content_key(kind: str, text: str) -> str:
    return hashlib.sha256(
        f"{kind}\0".encode() + text.encode("utf-8", "surrogateescape")
    ).hexdigest()


def load_document(key: str) -> Any:
    """A parsed document cached under ``key`` (None when absent or unreadable)."""
    return _read_json(os.path.join(user_cache_dir(), "documents", f"{key}.json"))


def store_document(key: str, data: Any) -> None:
    """Cache ``data`` only when JSON round-trips it exactly (TOML dates do not) and JSON can
    nest it (a dotted key of thousands of parts is valid TOML but too deep for ``json``)."""
    try:
        if json.loads(json.dumps(data)) != data:
            return
    except (TypeError, ValueError, RecursionError):
        return
    _write_json(os.path.join(user_cache_dir(), "documents"), f"{key}.json", data)


def load_listing(repo: StrPath, key: str) -> Any:
    """A file listing of ``repo`` cached under ``key`` (None when absent or unreadable)."""
    return _read_json(os.path.join(cache_dir(repo), f"listing-{key}.json"))


def store_listing(repo: StrPath, key: str, data: Any) -> None:
    """Cache a file listing of ``repo`` (a few of the newest are kept, as for the index)."""
    _write_json(cache_dir(repo), f"listing-{key}.json", data, keep_prefix="listing-")


def load_graph(repo: StrPath, key: str) -> Any:
    """A workspace at a revision (configuration and index as JSON) cached under ``key``."""
    return _read_json(os.path.join(cache_dir(repo), f"graph-{key}.json"))


def store_graph(repo: StrPath, key: str, data: Any) -> None:
    """Cache a workspace at a revision (the ``KEEP_GRAPHS`` newest are kept)."""
    _write_json(cache_dir(repo), f"graph-{key}.json", data, keep_prefix="graph-", keep=KEEP_GRAPHS)
