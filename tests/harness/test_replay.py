"""Failures write trace.json; replay reproduces them with an identical trace hash."""

from __future__ import annotations

import json
from pathlib import Path

from harness.mutants import core_by_name
from harness.runner import RunConfig, run
from harness.scenario import FaultSpec, load_all
from harness.swarm import swarm_config
from harness.trace import determinism_check, replay, trace_hash, write_trace


def _scenario(sid: str):  # type: ignore[no-untyped-def]
    return next(s for s in load_all() if s.id == sid)


def test_failure_trace_replays_with_identical_hash(tmp_path: Path) -> None:
    config = RunConfig(
        _scenario("turns-basic"),
        "memory",
        core_by_name("storage-error-swallowed"),
        (FaultSpec("runtime.atomic_apply.before", "error", session="s1", skip=1),),
        check_expect=False,
    )
    result = run(config)
    assert result.violations
    path = write_trace(result, tmp_path / "trace.json")
    data = json.loads(path.read_text())
    assert {"events", "schedule", "states", "violations", "hash"} <= set(data)
    assert data["violations"][0]["checker"] == result.violations[0].checker
    replayed, recorded, again = replay(path)
    assert recorded == again == trace_hash(result)
    assert replayed.violations[0].checker == result.violations[0].checker


def test_tampered_trace_does_not_match(tmp_path: Path) -> None:
    result = run(RunConfig(_scenario("kill-before-commit"), "memory"))
    path = write_trace(result, tmp_path / "trace.json")
    data = json.loads(path.read_text())
    data["hash"] = "0" * 64
    path.write_text(json.dumps(data))
    _, recorded, replayed = replay(path)
    assert recorded != replayed


def test_sqlite_trace_replays(tmp_path: Path) -> None:
    config = RunConfig(
        _scenario("commit-power-loss"),
        "sqlite",
        core_by_name("runtime-commit-writes-row"),
    )
    result = run(config)
    assert result.violations
    path = write_trace(result, tmp_path / "trace.json")
    _, recorded, replayed = replay(path)
    assert recorded == replayed


def test_determinism_scenarios_and_swarm_seeds() -> None:
    for sid in ("compaction-chain", "sdk-interleaved-sessions", "commit-power-loss"):
        same, hashes = determinism_check(RunConfig(_scenario(sid), "memory"))
        assert same, (sid, hashes)
    for seed in range(25):
        same, hashes = determinism_check(swarm_config(seed))
        assert same, (seed, hashes)


def test_swarm_trace_replays(tmp_path: Path) -> None:
    config = swarm_config(7)
    result = run(config)
    path = write_trace(result, tmp_path / "swarm.json")
    _, recorded, replayed = replay(path)
    assert recorded == replayed
