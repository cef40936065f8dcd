"""Every seeded historical bug is killed, by a named checker, quickly."""

from __future__ import annotations

import time

import pytest

from harness.invariants import CHECKERS
from harness.mutants import MUTANTS, Mutant, core_by_name
from harness.mutation import run_mutants, summary
from harness.runner import RunConfig, run
from harness.scenario import load_all

MANDATORY = {
    "checkpointer-disabled-with-runtime",
    "projection-before-commit",
    "hook-missing-on-rewrite-path",
    "dedupe-by-length",
    "terminal-receipt-reuses-sequence",
    "archive-retires-first",
    "late-checkpoint-recreates-gate",
    "cancelled-projection-reports-success",
    "runtime-commit-writes-row",
    "append-only-guard",
    "quarantine-clears-newer-snapshot",
    "storage-error-swallowed",
    "recovery-duplicates-turns",
}


def test_catalogue_has_every_mandatory_mutant_tied_to_real_scenarios() -> None:
    assert len(MUTANTS) >= 12
    assert {m.name for m in MUTANTS} >= MANDATORY
    ids = {s.id for s in load_all()}
    for mutant in MUTANTS:
        assert mutant.killers and set(mutant.killers) <= ids, mutant.name


def test_all_mutants_killed_under_a_minute() -> None:
    start = time.perf_counter()
    results = run_mutants(jobs=2)
    elapsed = time.perf_counter() - start
    data = summary(results)
    survivors = [r.name for r in results if not r.killed]
    assert not survivors
    assert data["killed"] == data["total"] == len(MUTANTS)
    assert elapsed < 60
    for result in results:
        assert result.by in CHECKERS or str(result.by).startswith("expect."), result
        assert result.scenario in result_killers(result.name)


def result_killers(name: str) -> tuple[str, ...]:
    return next(m.killers for m in MUTANTS if m.name == name)


def test_unknown_core_name_is_refused() -> None:
    with pytest.raises(KeyError):
        core_by_name("no-such-mutant")


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_tied_scenario_kills_the_mutant_on_sqlite_too(mutant: Mutant) -> None:
    scenario = next(s for s in load_all() if s.id == mutant.killers[0])
    result = run(RunConfig(scenario, "sqlite", mutant.core))
    assert result.violations, mutant.name
