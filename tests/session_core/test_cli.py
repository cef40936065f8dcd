"""The ``session-core`` command line, as real child processes (SIGKILL included)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from session_core.cli import main
from session_core.codec import decode_session
from session_core.factory import sqlite_service, sqlite_stores

CLI = [sys.executable, "-m", "session_core"]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def status(data: Path) -> list[dict[str, Any]]:
    result = run_cli("status", "--data", str(data), "--format", "json")
    assert result.returncode == 0, result.stderr
    sessions: list[dict[str, Any]] = json.loads(result.stdout)["sessions"]
    return sessions


def authority_inputs(data: Path) -> dict[str, list[str]]:
    stores = sqlite_stores(data)
    try:
        found = {}
        for sid in stores.runtime.session_ids():
            snapshot = stores.runtime.load_snapshot(sid)
            assert snapshot is not None
            found[sid] = decode_session(snapshot).user_input_ids()
        return found
    finally:
        stores.close()


def check_converged(data: Path, printed: list[dict[str, Any]]) -> None:
    """Every printed turn is in the authority; projection == authority; no duplicates."""
    inputs = authority_inputs(data)
    for line in printed:
        assert line["input"] in inputs[line["session"]], line
    for sid, ids in inputs.items():
        assert len(ids) == len(set(ids)), sid
    for view in status(data):
        assert view["lag"] == 0, view
        assert view["authority"]["duplicates"] == 0, view
        assert view["projection"]["revision"] == view["authority"]["revision"], view
        assert view["projection"]["turns"] == view["authority"]["turns"], view


def test_demo_status_recover_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = run_cli("demo", "--data", str(data), "--sessions", "2", "--turns", "3")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 6
    assert set(lines[0]) == {"session", "turn", "input", "receipt", "outcome"}
    assert sorted((x["session"], x["turn"]) for x in lines) == [
        (f"demo-{s}", t) for s in range(2) for t in range(1, 4)
    ]
    assert all(x["outcome"] == "Completed" and x["receipt"]["kind"] == "terminal" for x in lines)
    views = status(data)
    assert [v["id"] for v in views] == ["demo-0", "demo-1"]
    assert set(views[0]) == {"id", "authority", "projection", "lag"}
    assert set(views[0]["authority"]) == {"revision", "turns", "receipts", "duplicates"}
    assert views[0]["authority"]["turns"] == 3 and views[0]["authority"]["receipts"] == 6
    rec = run_cli("recover", "--data", str(data))
    assert rec.returncode == 0, rec.stderr
    text = run_cli("status", "--data", str(data), "--format", "text")
    assert "demo-1" in text.stdout
    check_converged(data, lines)


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--data", "{d}", "--sessions", "many"],
        ["demo", "--data", "{d}", "--turns", "-1"],
        ["demo", "--data", "{d}", "--prefix", "../escape"],
        ["status", "--data", "{d}/missing"],
        ["recover", "--data", "{d}/missing"],
        ["status", "--data", "{d}", "--format", "xml"],
        ["bogus"],
        [],
    ],
)
def test_bad_input_exit_2_one_line(tmp_path: Path, args: list[str]) -> None:
    argv = [a.replace("{d}", str(tmp_path)) for a in args]
    result = run_cli(*argv)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_status_never_creates_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("demo", "--data", str(data), "--turns", "1").returncode == 0
    for suffix in ("", "-wal", "-shm"):
        (data / f"sessions.sqlite3{suffix}").unlink(missing_ok=True)
    result = run_cli("status", "--data", str(data))
    assert result.returncode == 2 and "sessions.sqlite3" in result.stderr
    assert not (data / "sessions.sqlite3").exists()
    refused = run_cli("recover", "--data", str(data))  # never recreates a file implicitly
    assert refused.returncode == 2 and "MissingStoreFile" in refused.stderr, refused.stderr
    assert "runtime.sqlite" in refused.stderr and "session-core init" in refused.stderr
    assert not (data / "sessions.sqlite3").exists()
    assert run_cli("init", "--data", str(data)).returncode == 0  # explicit: empty projection
    assert run_cli("recover", "--data", str(data)).returncode == 0  # rebuilds the projection
    check_converged(data, [])


def test_corrupt_file_is_exit_2_naming_file(tmp_path: Path) -> None:
    (tmp_path / "runtime.sqlite").write_bytes(b"garbage" * 500)
    result = run_cli("recover", "--data", str(tmp_path))
    assert result.returncode == 2
    assert str(tmp_path / "runtime.sqlite") in result.stderr
    assert "Traceback" not in result.stderr
    debug = run_cli("recover", "--data", str(tmp_path), "--debug")
    assert "Traceback" in debug.stderr


def test_help_mentions_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in ("demo", "recover", "status"))


def _read_lines(proc: subprocess.Popen[str], count: int) -> list[dict[str, Any]]:
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    while len(lines) < count:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(json.loads(line))
    return lines


@pytest.mark.parametrize("seed", range(int(os.environ.get("SESSION_CORE_KILL_SEEDS", "6"))))
def test_sigkill_at_random_points_then_recover(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [*CLI, "demo", "--data", str(data), "--sessions", "3", "--turns", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    target = rng.randint(0, 25)
    printed = _read_lines(proc, target)
    time.sleep(rng.random() * (0.4 if target == 0 else 0.02))
    proc.send_signal(signal.SIGKILL)
    assert proc.stdout is not None
    rest = proc.stdout.read()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    printed += [json.loads(line) for line in rest.splitlines(keepends=True) if line.endswith("\n")]
    if not (data / "runtime.sqlite").exists():
        return  # killed before the database existed: nothing was acknowledged
    result = run_cli("recover", "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    check_converged(data, printed)
    again = run_cli("recover", "--data", str(data), "--format", "json")
    assert json.loads(again.stdout)["redelivered"] == []


def test_concurrent_demo_processes_never_lose_acknowledged_turns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["demo", "--data", str(data), "--sessions", "2", "--turns", "12", "--prefix", "shared"]
    first = run_cli(*args)  # creates the files and sessions before the race starts
    assert first.returncode == 0, first.stderr
    procs = [
        subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    printed = [json.loads(line) for line in first.stdout.splitlines()]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        printed += [json.loads(line) for line in out.splitlines()]
    assert len(printed) == 4 * 2 * 12
    assert run_cli("recover", "--data", str(data)).returncode == 0
    check_converged(data, printed)
    assert all(v["authority"]["turns"] == 4 * 12 for v in status(data))


def _lagging_sessions(data: Path, count: int) -> None:
    """Committed turns whose projections failed: recovery has real work to do."""
    from session_core.faults import FaultInjector

    faults = FaultInjector(record=False)
    svc = sqlite_service(data, faults)
    for n in range(count):
        svc.create(f"lag-{n}")
    faults.arm("project.*", "error", times=1 << 30)
    for n in range(count):
        svc.run_turn(f"lag-{n}", "one")
        svc.compact(f"lag-{n}", keep_last=1)
        svc.run_turn(f"lag-{n}", "two")
    svc.close()


@pytest.mark.parametrize("seed", range(2))
def test_sigkill_inside_recover_then_recover_again(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    data = tmp_path / "data"
    _lagging_sessions(data, 150)
    assert any(v["lag"] for v in status(data))
    proc = subprocess.Popen(
        [*CLI, "recover", "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.1 + rng.random() * 0.15)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL  # killed inside recovery, not after it
    result = run_cli("recover", "--data", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    check_converged(data, [])


def test_benchmark_script_quick_run() -> None:
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "session_core_bench.py"
    if not script.exists():
        pytest.skip("benchmarks/ not shipped with this checkout")
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["sqlite_fsync"]["turns_per_s"] > 0
    assert figures["recovery_in_sync"]["sessions"] == 500
    assert [len(costs) for costs in figures["length_scaling"].values()] == [2, 2]
