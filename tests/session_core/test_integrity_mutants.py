"""The file-level integrity mutants (``harness.mutants.integrity_bugs``) are killed by the same
real-process checks as the fixes (the harness runs mutants on the memory backend only)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.mutants import FILE_MUTANTS
from harness.mutants.integrity_bugs import implicit_init_stores
from session_core.errors import SessionCoreError
from session_core.factory import Stores, sqlite_stores
from tests.session_core.test_integrity import LINUX, _locked_inodes, digests, seeded

LOCK_PROBE = """
import sys
from {module} import {opener} as open_stores
stores = open_stores(sys.argv[1])
stores.runtime.session_ids(); stores.sessions.list(); stores.audit.events("s0")
print("ready", flush=True)
sys.stdin.readline()
"""


def lock_violation(data: Path, module: str, opener: str) -> str | None:
    """None if a process with open stores holds its fcntl lock on both files."""
    code = LOCK_PROBE.format(module=module, opener=opener)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
        held = _locked_inodes(proc.pid)
        for name in ("runtime.sqlite", "sessions.sqlite3"):
            if (data / name).stat().st_ino not in held:
                return f"no lock held on {name}"
        return None
    finally:
        proc.communicate("\n", timeout=30)


def init_violation(data: Path, opener: Callable[[Path], Stores]) -> str | None:
    """None if opening a directory whose runtime file is missing is refused unchanged."""
    (data / "runtime.sqlite").unlink()
    before = digests(data)
    try:
        opener(data).close()
    except SessionCoreError:
        return None if digests(data) == before else "files changed"
    return "a missing runtime file was silently initialised"


RETRY_SCENARIO = (
    Path(__file__).parents[2] / "harness" / "scenarios" / "49-integrity-retry-same-input.yml"
)


def test_every_mutant_outside_the_harness_is_known() -> None:
    assert set(FILE_MUTANTS) == {"lock-drop", "implicit-init", "retry-runs-again"}


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_retry_mutant_is_killed_by_its_scenario(backend: str) -> None:
    from harness.core import Core
    from harness.mutants.integrity_bugs import RetryRunsAgainService
    from harness.runner import RunConfig, run
    from harness.scenario import load_scenario

    scenario = load_scenario(RETRY_SCENARIO)
    assert run(RunConfig(scenario, backend)).violations == []
    mutant = Core(name="retry-runs-again", service_cls=RetryRunsAgainService)
    assert run(RunConfig(scenario, backend, mutant)).violations


@pytest.mark.skipif(not LINUX, reason="/proc/locks")
def test_lock_drop_mutant_is_killed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded(data, turns=1)
    assert lock_violation(data, "session_core.factory", "sqlite_stores") is None
    found = lock_violation(data, "harness.mutants.integrity_bugs", "lock_dropping_stores")
    assert found is not None and found.startswith("no lock held on")


def test_implicit_init_mutant_is_killed(tmp_path: Path) -> None:
    fixed, mutant = tmp_path / "fixed", tmp_path / "mutant"
    seeded(fixed, turns=2)
    seeded(mutant, turns=2)
    assert init_violation(fixed, sqlite_stores) is None
    assert init_violation(mutant, implicit_init_stores) is not None
