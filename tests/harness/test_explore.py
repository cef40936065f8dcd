"""Exploration on the correct core: every discovered point enumerated, zero violations."""

from __future__ import annotations

from harness.explore import Explorer, kinds_for, points_of
from harness.scenario import load_all


def test_quick_tier_enumerates_every_point_without_violations() -> None:
    report = Explorer(load_all(), quick=True, jobs=2).run()
    assert report.scenarios >= 25
    assert report.discovered > 1000
    assert report.enumerated == report.discovered, report.missed
    assert report.violations == []
    assert report.runs > 3 * report.discovered


SQLITE_SLICE = ("sqlite-commit-boundaries", "sqlite-lost-unsynced-writes")


def test_quick_tier_sqlite_slice_kills_sqlite_only_mutants_at_commit_sites() -> None:
    scenarios = [s for s in load_all() if s.id in SQLITE_SLICE]
    assert all(s.explore == ("sqlite",) for s in scenarios)
    clean = Explorer(scenarios, quick=True).run()
    assert clean.discovered > 20 and clean.enumerated == clean.discovered
    assert clean.violations == []
    for core in ("sqlite-commit-split", "sqlite-receipt-before-snapshot"):
        found = Explorer(scenarios, quick=True, core=core).run().violations
        faults = [v["fault"] for v in found if isinstance(v["fault"], dict)]
        assert any(f["site"] == "sqlite.commit.runtime" for f in faults), core
    lost = Explorer(scenarios, quick=True, core="sqlite-runtime-synchronous-normal").run()
    kinds = {v["fault"]["kind"] for v in lost.violations if isinstance(v["fault"], dict)}
    assert "lost" in kinds


def test_shards_partition_the_points() -> None:
    scenarios = [s for s in load_all() if s.id in ("turns-basic", "kill-before-commit")]
    whole = Explorer(scenarios).run()
    parts = [Explorer(scenarios, shard=(i, 3)).run() for i in (1, 2, 3)]
    assert sum(p.discovered for p in parts) == whole.discovered
    assert all(p.enumerated == p.discovered for p in parts)


def test_deep_adds_a_fault_inside_recovery() -> None:
    scenarios = [s for s in load_all() if s.id == "kill-after-commit"]
    single = Explorer(scenarios).run()
    deep = Explorer(scenarios, deep=True).run()
    assert deep.runs > single.runs
    assert deep.violations == [] and deep.enumerated == deep.discovered


def test_sqlite_exploration_of_one_scenario() -> None:
    scenarios = [s for s in load_all() if s.id == "commit-power-loss"]
    report = Explorer(scenarios, backends=("sqlite",), jobs=2).run()
    assert report.discovered > 20 and report.enumerated == report.discovered
    assert report.violations == []


def test_exploration_finds_a_mutant_with_the_shortest_counterexample_first() -> None:
    scenarios = [s for s in load_all() if s.id == "turns-basic"]
    report = Explorer(scenarios, core="storage-error-swallowed").run()
    assert report.violations
    orders = [v["order"] for v in report.violations]
    assert isinstance(orders[0], list) and orders[0][0] == 1
    assert all(v["checker"] for v in report.violations)


def test_points_and_kinds() -> None:
    hits = [("turn.commit", "s1"), ("turn.commit", "s1"), ("runtime.retire.after", "s1")]
    points = points_of("x", "memory", hits)
    assert [p.occurrence for p in points] == [0, 1, 0]
    assert "power-loss" in kinds_for("runtime.retire.after")
    assert "power-loss" not in kinds_for("turn.commit")
