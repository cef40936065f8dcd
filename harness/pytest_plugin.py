"""pytest integration: scenarios collected as tests, one marker per lane.

Functions a ``conftest.py`` or a ``pytest11`` plugin can call:

* ``register_markers(config)``: registers the ``minimal``, ``feature``, ``sdk`` and
  ``security`` markers (needed under ``--strict-markers``); ``pytest_configure`` calls it.
* ``scenario_params(lane=None, backends=None)``: ``pytest.param`` objects, one per
  (scenario, backend), id ``<scenario id>`` (memory) or ``<scenario id>[sqlite]``, marked with
  each of the scenario's lanes, so ``pytest -m sdk`` runs the sdk lane.
* ``check_scenario(scenario, backend)``: runs it on a fresh core; on a violation writes
  ``trace.json`` and fails with the violated invariant and the one-line replay command.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from harness.runner import RunConfig, run
from harness.scenario import LANES, Scenario, load_all, select
from harness.trace import replay_command, write_trace

LANE_HELP = {
    "minimal": "minimal lane: the core commit-ordering scenarios",
    "feature": "feature lane: rewrites, archive, recovery, concurrency",
    "sdk": "sdk lane: consumer-visible projection (per-turn saves seen by readers)",
    "security": "security lane: bad input (ids, damaged or foreign files, undecodable rows)",
}


def register_markers(config: pytest.Config) -> None:
    for lane in LANES:
        config.addinivalue_line("markers", f"{lane}: {LANE_HELP[lane]}")


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)


def scenario_params(lane: str | None = None, backends: Sequence[str] | None = None) -> list[object]:
    params: list[object] = []
    for scenario in select(load_all(), lane=lane):
        for backend in scenario.backends:
            if backends is not None and backend not in backends:
                continue
            marks = [getattr(pytest.mark, name) for name in scenario.lanes]
            test_id = scenario.id if backend == "memory" else f"{scenario.id}[{backend}]"
            params.append(pytest.param(scenario, backend, marks=marks, id=test_id))
    return params


def check_scenario(scenario: Scenario, backend: str = "memory") -> None:
    result = run(RunConfig(scenario, backend))
    if result.ok:
        return
    where = Path(os.environ.get("HARNESS_TRACE_DIR", ".")) / f"trace-{scenario.id}-{backend}.json"
    write_trace(result, where)
    violation = result.violations[0]
    pytest.fail(
        f"{violation.checker}: {violation.message}\nreplay: {replay_command(where)}",
        pytrace=False,
    )


__all__ = ["LANE_HELP", "check_scenario", "pytest_configure", "register_markers", "scenario_params"]
