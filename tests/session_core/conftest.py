"""Shared fixtures: a backend per store implementation (memory, SQLite, SQLite single file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from session_core.conformance import BACKENDS, Backend, make_backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return make_backend(str(request.param), tmp_path)
