"""On-disk cache of the derived index, keyed by the content hash of its inputs.

The key covers the configuration text and every manifest discovery would read, so any edit
rebuilds the index and a warm run skips discovery parsing and graph building entirely.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from lanes.digest import sha256
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
    name = sha256(os.fsencode(os.path.realpath(repo))).hexdigest()[:16]
    return os.path.join(user_cache_dir(), name)


def user_cache_dir() -> str:
    explicit = os.environ.get("LANES_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lanes")


def input_key(
    identity: Callable[[str], str], config_digest: str, manifests: dict[str, list[str]]
) -> str:
    """The index key: the configuration and each located manifest's content ``identity`` (as
    :meth:`lanes.discovery._source.Tree.identity` gives it)."""
    digest = sha256(f"index-v{FORMAT_VERSION}\0{config_digest}\0".encode())
    for kind in sorted(manifests):
        digest.update(f"kind\0{kind}\0".encode())
        for manifest in manifests[kind]:
            digest.update(manifest.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(identity(manifest).encode("utf-8", "surrogateescape") + b"\0")
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
    """Write atomically; keep the ``keep`` (default :data:`KEEP_ENTRIES`) newest entries with
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


def _remove_stale(directory: str, prefix: str, written: str, keep: int) -> None:
    """Drop all but the ``keep - 1`` newest entries with ``prefix`` (``written`` is about to
    be written)."""
    entries = []
    for entry in os.listdir(directory):
        if entry.startswith(prefix) and entry.endswith(".json") and entry != written:
            with contextlib.suppress(FileNotFoundError):
                entries.append((os.stat(os.path.join(directory, entry)).st_mtime_ns, entry))
    for _, entry in sorted(entries, reverse=True)[keep - 1 :]:
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


CONFIG_FORMAT = "config-v4"
"""v3: lane features/extras/groups, contract `exists`, stricter validation (reserved lane names,
plain integers, glob classes); v4: `third_party_never_requires_local`. A configuration cached by
an older lanes is parsed again."""


def _config_name(digest: str, display: str) -> str:
    text = f"{CONFIG_FORMAT}\0{digest}\0{display}"
    key = sha256(text.encode("utf-8", "surrogateescape"))
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
    return sha256(f"{kind}\0".encode() + text.encode("utf-8", "surrogateescape")).hexdigest()


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


KEEP_REVISION_ENTRIES = 32
"""Indexes of revisions kept per configuration (a history audit meets many manifest states)."""


def _revision_prefix(family: str) -> str:
    return f"revision-{family[:32]}-"


def revision_entries(repo: StrPath, family: str) -> Iterator[dict[str, Any]]:
    """The cached revision entries of ``family`` (``{"observed": ..., "index": ...}``), the
    newest first; unreadable ones are skipped."""
    directory = cache_dir(repo)
    prefix = _revision_prefix(family)
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".json")]
    except OSError:
        return
    dated = []
    for name in names:
        with contextlib.suppress(OSError):
            dated.append((os.stat(os.path.join(directory, name)).st_mtime_ns, name))
    for _, name in sorted(dated, reverse=True):
        data = _read_json(os.path.join(directory, name))
        if isinstance(data, dict) and isinstance(data.get("observed"), dict):
            yield data


def store_revision(repo: StrPath, family: str, observed: dict[str, Any], index: Index) -> None:
    """Cache the index built from a revision under what discovery ``observed`` there."""
    fine = sha256(json.dumps(observed, sort_keys=True).encode()).hexdigest()[:32]
    prefix = _revision_prefix(family)
    data = {"observed": observed, "index": index.to_json()}
    _write_json(cache_dir(repo), f"{prefix}{fine}.json", data, prefix, KEEP_REVISION_ENTRIES)


def _observed_name(repo: StrPath, scope: str) -> str:
    # The record holds repository-relative paths: a cache directory shared by several
    # repositories ($LANES_CACHE_DIR) keeps one record per repository. It also holds what
    # locating concluded, which an index format change may change: one record per format.
    text = f"{scope}\0{os.path.realpath(repo)}\0{FORMAT_VERSION}"
    return f"observed-{sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()}.json"


def load_observed(repo: StrPath, scope: str) -> Any:
    """What discovery observed in ``repo``'s work tree under ``scope`` (the configuration), as
    :mod:`lanes.discovery._observed` recorded it (None when absent or unreadable)."""
    return _read_json(os.path.join(cache_dir(repo), _observed_name(repo, scope)))


def store_observed(repo: StrPath, scope: str, record: Any) -> None:
    name = _observed_name(repo, scope)
    _write_json(cache_dir(repo), name, record, keep_prefix="observed-")
