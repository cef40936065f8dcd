"""SHA-256 for cache keys and content identities, without OpenSSL's start-up cost.

``hashlib`` loads OpenSSL (its ``_hashlib`` extension) when imported: about 4-5 ms of a warm
``lanes detect`` of 60. CPython's built-in implementation (``_sha2`` from 3.12, ``_sha256``
before) gives the same digests, and the warm path hashes only a few kilobytes; ``hashlib``'s is
the fallback where neither exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast


class Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


def _builtin_sha256() -> Callable[..., Hash]:
    for module in ("_sha2", "_sha256"):
        try:
            return cast("Callable[..., Hash]", __import__(module).sha256)
        except (ImportError, AttributeError):
            continue
    from hashlib import sha256

    return sha256


sha256 = _builtin_sha256()
