"""Every bundled scenario as a test (ids = scenario ids), marked with its lanes:
``pytest -m sdk`` runs the sdk lane."""

from __future__ import annotations

import pytest

from harness.pytest_plugin import check_scenario, scenario_params
from harness.scenario import Scenario


@pytest.mark.parametrize(("scenario", "backend"), scenario_params())
def test_scenario(scenario: Scenario, backend: str) -> None:
    check_scenario(scenario, backend)
