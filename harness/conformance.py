"""``harness conformance --store module:factory``: run session_core's store conformance suite
(``session_core.conformance.StoreConformance``) against a third-party backend.

``factory`` is called with a fresh directory and returns an object with ``name`` and
``open(faults=NO_FAULTS) -> Stores`` (same durable storage on every call).
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
import textwrap
from pathlib import Path
from typing import TextIO

SUITE = """
import pytest
from session_core.conformance import StoreConformance
from {module} import {factory} as _factory


class TestThirdPartyStore(StoreConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        return _factory(tmp_path)
"""


class ConformanceError(Exception):
    pass


def resolve(spec: str) -> tuple[str, str]:
    module, _, factory = spec.partition(":")
    if not module or not factory.isidentifier():
        raise ConformanceError(f"--store: expected module:factory, got {spec!r}")
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise ConformanceError(f"--store: cannot import {module!r}: {exc}") from exc
    if not callable(getattr(loaded, factory, None)):
        raise ConformanceError(f"--store: {module}.{factory} is not a callable factory")
    return module, factory


def run_conformance(spec: str, out: TextIO) -> int:
    """Exit code: 0 all conformance tests pass, 1 some fail, 2 bad ``--store`` / no suite."""
    import pytest

    if importlib.util.find_spec("session_core.conformance") is None:
        out.write("harness: session_core.conformance is not available\n")
        return 2
    try:
        module, factory = resolve(spec)
    except ConformanceError as exc:
        out.write(f"harness: {exc}\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="harness-conformance-") as tmp:
        suite = Path(tmp) / "test_store_conformance.py"
        suite.write_text(textwrap.dedent(SUITE.format(module=module, factory=factory)))
        code = pytest.main(
            [str(suite), "-q", "-p", "no:cacheprovider", "--rootdir", tmp, "-W", "ignore"]
        )
    return 0 if code == 0 else 1 if code == 1 else 2


__all__ = ["ConformanceError", "resolve", "run_conformance"]
