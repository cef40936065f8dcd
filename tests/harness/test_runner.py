"""Runner details: expectations can fail, states are captured around crashes, known findings
still reproduce (so a fix in session_core is noticed), the state machine catches a mutant."""

from __future__ import annotations

import pytest
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test

from harness.explore import Explorer
from harness.known import KNOWN
from harness.mutants import core_by_name
from harness.runner import RunConfig, Runner, run
from harness.scenario import load_all, parse_scenario
from tests.harness import test_stateful

BASE = """\
id: runner-check
title: runner check
lanes: [minimal]
pins: runner
sessions: [s1]
steps:
  - create: s1
  - turn: s1
    label: t1
  - turn: s1
    label: t2
"""


def test_wrong_final_expectation_is_a_violation() -> None:
    scenario = parse_scenario(BASE + "expect:\n  final:\n    s1: {turns: 5}\n")
    result = run(RunConfig(scenario))
    assert [v.checker for v in result.violations] == ["expect.final"]


def test_wrong_outcome_expectation_is_a_violation() -> None:
    scenario = parse_scenario(BASE + "expect:\n  outcomes: {t1: Failed}\n")
    result = run(RunConfig(scenario))
    assert [v.checker for v in result.violations] == ["expect.outcome"]


def test_crashed_states_are_checked_before_and_after_recovery() -> None:
    text = BASE + "faults:\n  - {site: turn.after_commit, kind: crash, step: t1}\n"
    result = run(RunConfig(parse_scenario(text), "sqlite"))
    assert result.ok
    phases = [s.phase for s in result.states]
    assert phases[:5] == ["step", "crashed", "restarted", "recovered", "step"]
    assert phases[-2:] == ["final", "idempotent"]
    crashed = result.states[1].sessions["s1"]
    assert crashed.lag == 1  # committed, not yet projected: allowed, and seen
    assert result.states[3].sessions["s1"].lag == 0


def test_power_loss_loses_the_in_flight_write() -> None:
    text = BASE + "faults:\n  - {site: runtime.atomic_apply.after, kind: power-loss, step: t2}\n"
    result = run(RunConfig(parse_scenario(text)))
    assert result.ok
    crashed = next(s for s in result.states if s.phase == "crashed")
    assert len(crashed.sessions["s1"].authority_turns) == 1  # the torn commit is gone


@pytest.mark.parametrize("issue", KNOWN, ids=lambda i: i.id)
def test_known_findings_still_reproduce(issue: object) -> None:
    """When session_core fixes one of these, this fails: remove it from harness.known.
    (Nothing to check while ``KNOWN`` is empty.)"""
    from harness.swarm import swarm

    found = dict(Explorer(load_all()).run().known)
    for outcome in swarm(range(1200, 1300)):
        if outcome.known is not None:
            found[outcome.known] = found.get(outcome.known, 0) + 1
    assert found.get(getattr(issue, "id", "")), found


def test_fixed_runtime_less_findings_stay_fixed() -> None:
    """Where exploration and swarm found the two runtime-less findings once parked in
    harness.known (failed-after-save, unaudited row never repaired), nothing is found now."""
    from harness.swarm import swarm

    scenarios = [s for s in load_all() if s.id in ("runtime-less-same-length", "sdk-runtime-less")]
    report = Explorer(scenarios).run()
    assert report.enumerated == report.discovered > 0
    assert not report.violations and not report.known
    bad = [(o.seed, o.violation or o.known) for o in swarm(range(1200, 1300)) if o.violation]
    assert not bad, bad


def test_state_machine_catches_a_mutant() -> None:
    class Mutated(test_stateful.HarnessMachine):
        def __init__(self) -> None:
            super().__init__()
            self.runner.close()
            mutant = core_by_name("checkpointer-disabled-with-runtime")
            self.runner = Runner(RunConfig(test_stateful.SCENARIO, core=mutant, check_expect=False))
            self.runner.start()

    with pytest.raises((AssertionError, Flaky)):
        run_state_machine_as_test(Mutated, settings=test_stateful.TestHarnessMachine.settings)
