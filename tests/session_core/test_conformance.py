"""The public conformance suite, run against every bundled backend."""

from __future__ import annotations

from session_core.conformance import StoreConformance


class TestBundledBackends(StoreConformance):
    """Uses the ``backend`` fixture from conftest (memory, sqlite, sqlite-shared)."""
