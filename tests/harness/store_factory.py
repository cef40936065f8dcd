"""A third-party-style store factory for ``harness conformance --store``: SQLite in a dir."""

from __future__ import annotations

from pathlib import Path

from session_core.factory import Stores, sqlite_stores
from session_core.faults import NO_FAULTS, FaultPoint


class DirBackend:
    name = "third-party-sqlite"

    def __init__(self, root: Path) -> None:
        self.root = root

    def open(self, faults: FaultPoint = NO_FAULTS) -> Stores:
        return sqlite_stores(self.root / "db", faults)


def factory(root: Path) -> DirBackend:
    return DirBackend(root)


NOT_CALLABLE = 3
