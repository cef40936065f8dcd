"""The harness CLI: commands, JSON shapes, exit codes, JUnit and step summary output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # `harness conformance` runs pytest: the parent's PYTEST_ADDOPTS must not change its output.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--format", "json", "--lane", "security"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data and all("security" in s["lanes"] for s in data)


def test_run_passes_and_writes_junit_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "junit.xml"
    code = main(
        ["run", "--lane", "sdk", "--backend", "memory", "--format", "json", "--junit", str(junit)]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["failed"] == 0 and data["runs"] >= 5
    assert "<testsuite" in junit.read_text() and 'failures="0"' in junit.read_text()
    assert "harness run" in summary.read_text()


def test_explore_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--scenario", "turns-basic", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"scenarios", "discovered", "enumerated", "runs", "violations"} <= set(data)
    assert data["discovered"] == data["enumerated"] and data["violations"] == []


def test_mutants_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "mutants",
            "--mutant",
            "dedupe-by-length",
            "--mutant",
            "append-only-guard",
            "--format",
            "json",
            "--jobs",
            "1",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["killed"] == data["total"] == 2
    assert {"name", "killed", "by", "seconds"} <= set(data["mutants"][0])


def test_violation_prints_replay_command_and_replay_reproduces(tmp_path: Path) -> None:
    trace_dir = tmp_path / "traces"
    proc = run_cli("swarm", "--seed", "1252", "--runs", "1", "--trace-dir", str(trace_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    from harness.mutants import core_by_name
    from harness.runner import RunConfig, run
    from harness.scenario import load_all
    from harness.trace import write_trace

    scenario = next(s for s in load_all() if s.id == "commit-fails-no-projection")
    result = run(RunConfig(scenario, "memory", core_by_name("projection-before-commit")))
    trace = write_trace(result, trace_dir / "trace.json")
    replayed = run_cli("replay", str(trace), "--format", "json")
    assert replayed.returncode == 1
    data = json.loads(replayed.stdout)
    assert data["identical"] is True and data["violation"]["checker"] == "projection_not_ahead"


def test_run_on_a_failing_mutant_prints_one_line_replay(tmp_path: Path) -> None:
    script = (
        "import sys; from harness import cli, mutants; from harness.core import CORRECT;"
        "import harness.runner as r; cfg = r.RunConfig;"
        "r.RunConfig = lambda s, b='memory', core=None, *a, **k: cfg(s, b,"
        " mutants.core_by_name('checkpointer-disabled-with-runtime'), *a, **k);"
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "run",
            "--scenario",
            "sdk-per-turn-reader",
            "--backend",
            "memory",
            "--trace-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "replay:" in line]
    assert len(lines) == 1 and "harness replay" in lines[0]
    assert list(tmp_path.glob("trace-*.json"))


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--scenario", "no-such-scenario"],
        ["run", "--backend", "postgres"],
        ["explore", "--shard", "3/2"],
        ["replay", "/nonexistent/trace.json"],
        ["mutants", "--mutant", "not-a-mutant"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_conformance_against_a_third_party_factory() -> None:
    proc = run_cli(
        "conformance",
        "--store",
        "tests.harness.store_factory:factory",
        cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "passed" in proc.stdout


def test_conformance_bad_store_spec() -> None:
    assert run_cli("conformance", "--store", "nope").returncode == 2
    assert (
        run_cli(
            "conformance",
            "--store",
            "tests.harness.store_factory:NOT_CALLABLE",
            cwd=Path(__file__).parents[2],
        ).returncode
        == 2
    )


def test_bad_scenario_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(
        "id: bad-one\ntitle: t\nlanes: [minimal]\npins: p\nsteps:\n  - teleport: s1\n"
    )
    proc = run_cli("list", "--scenarios", str(tmp_path))
    assert proc.returncode == 2
    assert f"{tmp_path / 'bad.yml'}:6:" in proc.stderr
    assert "exactly one action key" in proc.stderr and "Traceback" not in proc.stderr


def test_custom_scenario_directory_runs_and_explores(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text(
        "id: mine\ntitle: t\nlanes: [sdk]\npins: p\nsteps:\n  - create: s1\n  - turn: s1\n"
    )
    proc = run_cli("run", "--scenarios", str(tmp_path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["runs"] == 2
    proc = run_cli("explore", "--scenarios", str(tmp_path), "--jobs", "2", "--format", "json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["scenarios"] == 1
    assert data["discovered"] == data["enumerated"] > 10
