"""Seeded swarm testing: random scenarios (``harness.seeds``) over the same actions and
invariants, one run per seed, in processes when asked."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from harness.known import known_issue
from harness.runner import RunResult, run
from harness.seeds import SWARM_PREFIX, swarm_config, swarm_scenario
from harness.trace import trace_data


@dataclass(frozen=True)
class SwarmOutcome:
    seed: int
    violation: dict[str, object] | None
    known: str | None
    trace: dict[str, object] | None


def run_seed(job: tuple[int, str]) -> SwarmOutcome:
    seed, backend = job
    config = swarm_config(seed, backend)
    result: RunResult = run(config)
    if not result.violations:
        return SwarmOutcome(seed, None, None, None)
    violation = result.violations[0].to_json()
    issue = known_issue(config.scenario, violation)
    if issue is not None:
        return SwarmOutcome(seed, None, issue.id, None)
    return SwarmOutcome(seed, violation, None, trace_data(result))


def swarm(seeds: Iterable[int], backend: str = "memory", jobs: int = 1) -> Iterator[SwarmOutcome]:
    work = [(seed, backend) for seed in seeds]
    if jobs <= 1:
        yield from map(run_seed, work)
        return
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield from pool.map(run_seed, work, chunksize=16)


__all__ = ["SWARM_PREFIX", "SwarmOutcome", "run_seed", "swarm", "swarm_config", "swarm_scenario"]
