"""Exhaustive single-fault exploration (SQLite fail-at-N / CrashMonkey style).

1. Discovery: every scenario runs once with no extra fault; every fault site it passes is a
   *point* ``(site, session, occurrence)``.
2. One run per (point, fault kind): ``error``, ``crash`` and ``cancel`` everywhere,
   ``power-loss`` at store ``.after`` sites, ``gate-cancel`` (a concurrent shutdown) at the
   projection's ``GATE_SITES`` (and only ``gate-cancel`` at the ``LOCK_SITES``). A point is
   *enumerated* when its fault fired in every one of its runs; ``discovered == enumerated``
   proves nothing was skipped.
3. ``--deep``: for every crash / power-loss run, one more run per point of the recovery that
   follows, with a second fault (error or crash) inside that recovery.

Work is ordered breadth-first (single faults before double faults, earlier points first) and
violations are reported shortest counterexample first. ``jobs > 1`` uses processes;
``shard=(i, n)`` keeps every n-th point for a CI matrix.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from harness.commits import BATCH_SITES, COMMIT_SITES, HARNESS_SITES, UNSYNCED_SITES
from harness.core import CORRECT
from harness.runner import RunConfig, RunResult, run
from harness.scenario import FaultSpec, Scenario, load_all

SINGLE_KINDS = ("error", "crash", "cancel")
COMMIT_CUTS = ("crash", "torn")
"""Kinds at the SQLite backend's commit sites (``harness.commits``); ``lost`` (drop every
unsynced write) at its ``sqlite.unsynced.*`` sites, passed only while a write is unsynced."""
BATCH_KINDS = ("crash", "error")
"""Inside a group-commit batch's transaction (``harness.batches``): the process dies before
the COMMIT, or one member's writes fail (its savepoint is rolled back)."""
DEEP_KINDS = ("error", "crash")
GATE_SITES = frozenset({"turn.commit", "turn.project", "project.bridge", "project.advance"})
"""Where a concurrent shutdown cancels the gate (kind ``gate-cancel``): before the post-commit
projection or runtime-less save checks the gate, and between that check and each plain write
of the chain (the writes that follow a gate check)."""
LOCK_SITES = frozenset({"gate.lock"})
"""Interleaving points before a gate lock is taken: explored with ``gate-cancel`` only (a
lock acquisition writes nothing, so an error or crash there is one at the site before)."""
Hit = tuple[str, str | None]


@dataclass(frozen=True, order=True)
class Point:
    scenario: str
    backend: str
    position: int
    site: str
    session: str | None
    occurrence: int

    def spec(self, kind: str) -> FaultSpec:
        return FaultSpec(self.site, kind, "once", self.session, self.occurrence)


@dataclass(frozen=True)
class Job:
    scenario: str
    backend: str
    core: str
    fault: FaultSpec
    deep: FaultSpec | None
    order: tuple[int, ...]
    point: Point


@dataclass(frozen=True)
class Outcome:
    job: Job
    fired: bool
    violation: dict[str, object] | None
    trace: dict[str, object] | None
    events: int
    seconds: float
    recovery_hits: tuple[Hit, ...] = ()


@dataclass
class Report:
    scenarios: int = 0
    discovered: int = 0
    enumerated: int = 0
    runs: int = 0
    seconds: float = 0.0
    violations: list[dict[str, object]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    known: dict[str, int] = field(default_factory=dict)
    """Violations matching a known session_core finding (``harness.known``), by issue id."""

    @property
    def ok(self) -> bool:
        return not self.violations and self.discovered == self.enumerated

    def to_json(self) -> dict[str, object]:
        return {
            "scenarios": self.scenarios,
            "discovered": self.discovered,
            "enumerated": self.enumerated,
            "runs": self.runs,
            "violations": self.violations,
            "missed": self.missed,
            "known": self.known,
            "seconds": round(self.seconds, 3),
        }


def kinds_for(site: str) -> tuple[str, ...]:
    if site in COMMIT_SITES:
        return COMMIT_CUTS
    if site in BATCH_SITES:
        return BATCH_KINDS
    if site in UNSYNCED_SITES:
        return ("lost",)
    if site.endswith(".after"):
        return (*SINGLE_KINDS, "power-loss")
    if site in GATE_SITES:
        return (*SINGLE_KINDS, "gate-cancel")
    if site in LOCK_SITES:
        return ("gate-cancel",)
    return SINGLE_KINDS


def points_of(scenario: str, backend: str, hits: Iterable[Hit]) -> list[Point]:
    seen: dict[tuple[str, str | None], int] = {}
    by_site: dict[str, int] = {}
    points = []
    for position, (site, session) in enumerate(hits):
        key = (site, session)
        occurrence = seen.get(key, 0) if session is not None else by_site.get(site, 0)
        seen[key] = seen.get(key, 0) + 1
        by_site[site] = by_site.get(site, 0) + 1
        points.append(Point(scenario, backend, position, site, session, occurrence))
    return points


# --- workers -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, Scenario]:
    return {s.id: s for s in load_all()}


def run_job(job: Job) -> Outcome:
    from harness.mutants import core_by_name
    from harness.trace import trace_data

    scenario = _catalogue()[job.scenario]
    config = RunConfig(
        scenario, job.backend, core_by_name(job.core), (job.fault,), job.deep, check_expect=False
    )
    result = run(config)
    fired = all(result.fired)
    violation = None
    trace = None
    if result.violations:
        violation = result.violations[0].to_json()
        trace = trace_data(result)
    return Outcome(
        job,
        fired,
        violation,
        trace,
        len(result.history),
        result.seconds,
        tuple(result.recovery_hits),
    )


def discover(scenario: Scenario, backend: str, core: str = CORRECT.name) -> RunResult:
    from harness.mutants import core_by_name

    return run(RunConfig(scenario, backend, core_by_name(core), check_expect=False))


# --- planning ------------------------------------------------------------------------------


def single_jobs(points: list[Point], core: str) -> list[Job]:
    jobs = []
    for point in points:
        for rank, kind in enumerate(kinds_for(point.site)):
            order = (1, point.position, rank)
            jobs.append(
                Job(point.scenario, point.backend, core, point.spec(kind), None, order, point)
            )
    return jobs


def deep_jobs(outcome: Outcome) -> list[Job]:
    job = outcome.job
    if job.fault.kind not in ("crash", "power-loss") or outcome.violation is not None:
        return []
    points = points_of(job.scenario, job.backend, outcome.recovery_hits)
    jobs = []
    for point in points:
        for rank, kind in enumerate(DEEP_KINDS):
            order = (2, *job.order[1:], point.position, rank)
            jobs.append(
                Job(job.scenario, job.backend, job.core, job.fault, point.spec(kind), order, point)
            )
    return jobs


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    return shard is None or index % shard[1] == shard[0] - 1


# --- driver --------------------------------------------------------------------------------


@dataclass
class Explorer:
    scenarios: list[Scenario]
    backends: tuple[str, ...] = ("memory",)
    core: str = CORRECT.name
    jobs: int = 1
    deep: bool = False
    shard: tuple[int, int] | None = None
    trace_dir: Path | None = None
    progress: Callable[[int, int], None] | None = None
    report: Report = field(default_factory=Report)
    quick: bool = False
    """The quick tier: each scenario on its ``explore`` backends (instead of ``backends``),
    on a backend other than memory only at its commit sites (the SQLite slice)."""
    commit_sites_only: bool = False
    """On a backend other than memory, explore only the SQLite commit and batch sites (the
    SQLite slice; implied by ``quick``)."""

    def run(self) -> Report:
        start = time.perf_counter()
        points = self._discover()
        fired: dict[Point, bool] = {p: True for p in points}
        outcomes = self._execute(single_jobs(points, self.core))
        for outcome in outcomes:
            fired[outcome.job.point] = fired[outcome.job.point] and outcome.fired
        if self.deep:
            second = [j for o in outcomes for j in deep_jobs(o)]
            outcomes += self._execute(second)
        self._summarize(points, fired, outcomes)
        self.report.seconds = time.perf_counter() - start
        return self.report

    def _discover(self) -> list[Point]:
        points: list[Point] = []
        for scenario in self.scenarios:
            for backend in self._backends_of(scenario):
                result = discover(scenario, backend, self.core)
                self.report.runs += 1
                if result.violations:
                    self._violation_from(result)
                found = points_of(scenario.id, backend, result.hits)
                if (self.quick or self.commit_sites_only) and backend != "memory":
                    found = [p for p in found if p.site in HARNESS_SITES]
                points += found
        self.report.scenarios = len(self.scenarios)
        return [p for i, p in enumerate(points) if in_shard(i, self.shard)]

    def _backends_of(self, scenario: Scenario) -> tuple[str, ...]:
        if self.quick:
            default = ("memory",) if "memory" in scenario.backends else scenario.backends
            return scenario.explore or default  # built in code without ``explore``
        return tuple(b for b in self.backends if b in scenario.backends)

    def _violation_from(self, result: RunResult) -> None:
        from harness.trace import trace_data

        v = result.violations[0].to_json()
        entry = {
            "scenario": result.config.scenario.id,
            "backend": result.config.backend,
            "fault": None,
            "deep": None,
            "order": [0],
            **v,
        }
        self._record(entry, trace_data(result))

    def _execute(self, jobs: list[Job]) -> list[Outcome]:
        jobs = sorted(jobs, key=lambda j: (j.order[0], j.scenario, j.backend, j.order))
        results: list[Outcome] = []
        for outcome in self._map(jobs):
            results.append(outcome)
            self.report.runs += 1
            if self.progress is not None:
                self.progress(len(results), len(jobs))
        return results

    def _map(self, jobs: list[Job]) -> Iterator[Outcome]:
        if self.jobs <= 1 or len(jobs) < 8:
            yield from map(run_job, jobs)
            return
        chunk = max(1, min(64, len(jobs) // (self.jobs * 8)))
        with ProcessPoolExecutor(max_workers=self.jobs) as pool:
            yield from pool.map(run_job, jobs, chunksize=chunk)

    def _summarize(
        self, points: list[Point], fired: dict[Point, bool], outcomes: list[Outcome]
    ) -> None:
        self.report.discovered = len(points)
        self.report.enumerated = sum(1 for p in points if fired[p])
        self.report.missed = [
            f"{p.scenario}/{p.backend}:{p.site}#{p.occurrence}" for p in points if not fired[p]
        ][:20]
        bad = [o for o in outcomes if o.violation is not None]
        bad.sort(key=lambda o: (o.job.order[0], o.events, o.job.scenario, o.job.order))
        for outcome in bad:
            job = outcome.job
            assert outcome.violation is not None
            entry: dict[str, object] = {
                "scenario": job.scenario,
                "backend": job.backend,
                "fault": job.fault.to_json(),
                "deep": None if job.deep is None else job.deep.to_json(),
                "order": list(job.order),
                **outcome.violation,
            }
            self._record(entry, outcome.trace)

    def _record(self, entry: dict[str, object], trace: dict[str, object] | None) -> None:
        from harness.known import known_issue

        issue = known_issue(_catalogue()[str(entry["scenario"])], entry)
        if issue is not None:
            self.report.known[issue.id] = self.report.known.get(issue.id, 0) + 1
            return
        if trace is not None and self.trace_dir is not None and len(self.report.violations) < 20:
            from harness.trace import replay_command, write_trace_data

            name = f"trace-{len(self.report.violations) + 1}.json"
            path = write_trace_data(trace, self.trace_dir / name)
            entry["trace"] = str(path)
            entry["replay"] = replay_command(path)
        self.report.violations.append(entry)


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


__all__ = [
    "GATE_SITES",
    "LOCK_SITES",
    "Explorer",
    "Job",
    "Outcome",
    "Point",
    "Report",
    "deep_jobs",
    "default_jobs",
    "discover",
    "in_shard",
    "kinds_for",
    "points_of",
    "run_job",
    "single_jobs",
]
