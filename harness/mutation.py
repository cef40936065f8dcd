"""``harness mutants``: run every seeded bug until a checker kills it.

Per mutant: its tied scenarios first, then every other scenario (on the mutant's backend:
memory, or SQLite for bugs only that backend shows; expectations and invariants on), then
single-fault exploration of its tied scenarios. The first violation
kills it; the report names the checker, the scenario and the time to kill.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from harness.explore import Explorer, _catalogue
from harness.mutants import BY_NAME, MUTANTS, Mutant
from harness.runner import RunConfig, run
from harness.scenario import Scenario


@dataclass(frozen=True)
class MutantResult:
    name: str
    bug: str
    killed: bool
    by: str | None
    scenario: str | None
    seconds: float
    message: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "bug": self.bug,
            "killed": self.killed,
            "by": self.by,
            "scenario": self.scenario,
            "seconds": round(self.seconds, 4),
            "message": self.message,
        }


def ordered(mutant: Mutant, scenarios: Iterable[Scenario]) -> list[Scenario]:
    pool = list(scenarios)
    rank = {sid: i for i, sid in enumerate(mutant.killers)}
    return sorted(pool, key=lambda s: (rank.get(s.id, len(rank)), s.id))


def hunt(name: str) -> MutantResult:
    mutant = BY_NAME[name]
    start = time.perf_counter()
    catalogue = _catalogue()
    for scenario in ordered(mutant, catalogue.values()):
        if mutant.backend not in scenario.backends:
            continue
        result = run(RunConfig(scenario, mutant.backend, mutant.core))
        if result.violations:
            v = result.violations[0]
            return MutantResult(
                mutant.name,
                mutant.bug,
                True,
                v.checker,
                scenario.id,
                time.perf_counter() - start,
                v.message,
            )
    tied = [catalogue[s] for s in mutant.killers if s in catalogue]
    explorer = Explorer(tied, backends=(mutant.backend,), core=mutant.name, commit_sites_only=True)
    report = explorer.run()
    elapsed = time.perf_counter() - start
    if report.violations:
        first = report.violations[0]
        return MutantResult(
            mutant.name,
            mutant.bug,
            True,
            str(first["checker"]),
            str(first["scenario"]),
            elapsed,
            str(first["message"]),
        )
    return MutantResult(mutant.name, mutant.bug, False, None, None, elapsed)


def run_mutants(names: Iterable[str] | None = None, jobs: int = 1) -> list[MutantResult]:
    wanted = list(names) if names is not None else [m.name for m in MUTANTS]
    if jobs <= 1:
        return [hunt(name) for name in wanted]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(hunt, wanted))


def summary(results: list[MutantResult]) -> dict[str, object]:
    return {
        "killed": sum(1 for r in results if r.killed),
        "total": len(results),
        "mutants": [r.to_json() for r in results],
    }


__all__ = ["MutantResult", "hunt", "ordered", "run_mutants", "summary"]
