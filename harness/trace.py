"""Traces: everything needed to reproduce a run, and its hash.

``trace.json`` holds the scenario (id and file), backend, core (or mutant) name, the fault
schedule, the history events, every captured state of both stores and the violated invariant.
The trace hash covers all of it except timings, so ``harness replay trace.json`` proves it
reproduced the run by computing the same hash.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

from harness.runner import RunConfig, RunResult, run
from harness.scenario import FaultSpec, Scenario, load_all, load_scenario
from harness.seeds import swarm_scenario, swarm_seed

FORMAT = 1


def trace_data(result: RunResult) -> dict[str, object]:
    cfg = result.config
    return {
        "format": FORMAT,
        "scenario": cfg.scenario.id,
        "scenario_file": cfg.scenario.file,
        "backend": cfg.backend,
        "core": cfg.core.name,
        "schedule": [f.to_json() for f in cfg.schedule],
        "deep": None if cfg.deep is None else cfg.deep.to_json(),
        "check_expect": cfg.check_expect,
        "events": [e.to_json() for e in result.history.events],
        "states": [
            {"index": s.index, "label": s.label, "phase": s.phase, **s.fingerprint()}
            for s in result.states
        ],
        "violations": [v.to_json() for v in result.violations],
    }


def trace_hash(result: RunResult) -> str:
    return hash_of(trace_data(result))


def hash_of(data: dict[str, object]) -> str:
    body = {k: v for k, v in data.items() if k not in ("scenario_file", "hash")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_trace_data(data: dict[str, object], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    body = {**data, "hash": hash_of(data)}
    target.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return target


def write_trace(result: RunResult, path: str | Path) -> Path:
    return write_trace_data(trace_data(result), path)


def replay_command(path: str | Path) -> str:
    return f"harness replay {shlex.quote(str(path))}"


class TraceError(Exception):
    """A trace file is unreadable or names an unknown scenario / core."""


def load_trace(path: str | Path) -> dict[str, object]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TraceError(f"{path}: cannot read trace: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TraceError(f"{path}: not a harness trace (format {FORMAT})")
    return data


def config_from_trace(data: dict[str, object]) -> RunConfig:
    from harness.mutants import core_by_name

    scenario = _scenario(data)
    schedule = data.get("schedule")
    deep = data.get("deep")
    return RunConfig(
        scenario,
        str(data.get("backend", "memory")),
        core_by_name(str(data.get("core", "session_core"))),
        tuple(FaultSpec.from_json(f) for f in schedule if isinstance(f, dict))
        if isinstance(schedule, list)
        else (),
        FaultSpec.from_json(deep) if isinstance(deep, dict) else None,
        bool(data.get("check_expect", True)),
    )


def _scenario(data: dict[str, object]) -> Scenario:
    wanted = str(data.get("scenario"))
    seed = swarm_seed(wanted)
    if seed is not None:
        return swarm_scenario(seed)[0]
    for scenario in load_all():
        if scenario.id == wanted:
            return scenario
    file = data.get("scenario_file")
    if isinstance(file, str) and Path(file).exists():
        return load_scenario(file)
    raise TraceError(f"unknown scenario {wanted!r}")


def replay(path: str | Path) -> tuple[RunResult, str, str]:
    """Run the trace again: ``(result, recorded hash, replayed hash)``."""
    data = load_trace(path)
    try:
        config = config_from_trace(data)
    except KeyError as exc:
        raise TraceError(f"unknown core {exc}") from exc
    result = run(config)
    return result, str(data.get("hash", "")), trace_hash(result)


def determinism_check(config: RunConfig, times: int = 2) -> tuple[bool, list[str]]:
    """Run the same configuration ``times`` times and compare trace hashes."""
    hashes = [trace_hash(run(config)) for _ in range(times)]
    return len(set(hashes)) == 1, hashes


__all__ = [
    "TraceError",
    "config_from_trace",
    "determinism_check",
    "hash_of",
    "load_trace",
    "replay",
    "replay_command",
    "trace_data",
    "trace_hash",
    "write_trace",
    "write_trace_data",
]
