"""Benchmarks for ``harness`` (results go to docs/benchmarks.md; nothing here is a test).

Usage: python benchmarks/harness_bench.py [--seconds S] [--jobs N] [--skip-sqlite-tier]

1. fault-injected runs per second, one process (= per core), memory and SQLite: every
   (point, kind) of a two-step scenario (create, one turn), each run with one injected fault,
   every invariant checked after every step and crash, then faults off, restart, recovery
   twice, liveness and idempotence checked. The jobs are cycled; the first pass over them is
   also reported on its own (the harness shares decoded states and checker verdicts between
   runs of a process, so later passes find more of them already computed);
2. the whole single-fault quick tier (every bundled scenario, memory, every point x kind)
   with ``--jobs`` processes;
3. the same tier on SQLite (files in ``$HARNESS_TMPDIR`` or /dev/shm);
4. ``harness mutants`` (all seeded bugs, 2 processes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.explore import Explorer, discover, points_of, single_jobs
from harness.mutation import run_mutants
from harness.runner import RunConfig, run
from harness.scenario import Scenario, load_all, parse_scenario

MINIMAL = """\
id: bench-minimal
title: create and one turn
lanes: [minimal]
pins: benchmark
sessions: [s1]
steps:
  - create: s1
  - turn: s1
"""


def runs_per_second(
    scenario: Scenario, backend: str, seconds: float
) -> tuple[float, int, float | None]:
    """Runs per second over ``seconds``, the number of jobs cycled, and the rate of the first
    pass over the jobs (``None`` if it did not complete)."""
    points = points_of(scenario.id, backend, discover(scenario, backend).hits)
    jobs = single_jobs(points, "session_core")
    done, start = 0, time.perf_counter()
    first: float | None = None
    while time.perf_counter() - start < seconds:
        job = jobs[done % len(jobs)]
        run(RunConfig(scenario, backend, schedule=(job.fault,), check_expect=False))
        done += 1
        if done == len(jobs):
            first = done / (time.perf_counter() - start)
    return done / (time.perf_counter() - start), len(jobs), first


def tier(backend: str, jobs: int) -> dict[str, object]:
    start = time.perf_counter()
    report = Explorer(load_all(), backends=(backend,), jobs=jobs).run()
    return {
        "seconds": round(time.perf_counter() - start, 1),
        "runs": report.runs,
        "discovered": report.discovered,
        "enumerated": report.enumerated,
        "violations": len(report.violations),
        "known": report.known,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-sqlite-tier", action="store_true")
    args = parser.parse_args()
    scenario = parse_scenario(MINIMAL, "<bench>")
    results: dict[str, object] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    memory_rate, memory_jobs, memory_first = runs_per_second(scenario, "memory", args.seconds)
    results["memory_runs_per_second_per_core"] = round(memory_rate)
    results["memory_first_pass_runs_per_second"] = (
        None if memory_first is None else round(memory_first)
    )
    results["fault_points_x_kinds_minimal"] = memory_jobs
    sqlite_rate, _, _ = runs_per_second(scenario, "sqlite", args.seconds)
    results["sqlite_runs_per_second_per_core"] = round(sqlite_rate, 1)
    results["quick_tier_memory"] = tier("memory", args.jobs)
    if not args.skip_sqlite_tier:
        results["tier_sqlite"] = tier("sqlite", args.jobs)
    start = time.perf_counter()
    mutants = run_mutants(jobs=args.jobs)
    results["mutants"] = {
        "killed": sum(m.killed for m in mutants),
        "total": len(mutants),
        "seconds": round(time.perf_counter() - start, 2),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
