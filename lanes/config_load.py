"""Loading a ``lanes.yml``: read and checked by :func:`lanes.config.read_config`, then taken
from the cache (:mod:`lanes.cache`, keyed by the hash of the text) or parsed
(:mod:`lanes.config_parse`, imported only on a cache miss: it imports PyYAML) and cached."""

from __future__ import annotations

import os

from lanes import cache
from lanes.config import Config, decode_config, read_config
from lanes.model import StrPath


def parse_config(text: str, file: str = "lanes.yml") -> Config:
    """Validate the text of a ``lanes.yml``; raise :class:`~lanes.config.ConfigError` on the
    first problem."""
    from lanes.config_parse import parse_text

    return parse_text(text, file)


def load_config(path: StrPath, display: str | None = None) -> Config:
    """Read and validate ``path`` (from the cache when its text was parsed before); errors name
    ``display`` (default: the path as given)."""
    name = display or os.fspath(path)
    return _parsed(*read_config(path, name), name)


def load_config_bytes(data: bytes, name: str) -> Config:
    """A configuration from its bytes (a revision's blob), as :func:`load_config` reads one."""
    return _parsed(*decode_config(data, name), name)


def _parsed(text: str, digest: str, name: str) -> Config:
    cached = cache.load_config(digest, name)
    if cached is not None:
        return cached
    config = parse_config(text, name)
    cache.store_config(digest, name, config)
    return config
