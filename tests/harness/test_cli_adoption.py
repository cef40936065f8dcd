"""The harness CLI as a new user meets it: replay hints that work from anywhere, a summary line,
colour on a terminal, suggestions for typos, --version and ``python -m harness``."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import subprocess
import sys
from pathlib import Path

from harness.scenario import SCENARIO_DIR

# Runs the harness CLI with a seeded bug, so `harness run` fails and prints replay hints.
FAILING = (
    "import sys; from harness import cli, mutants;"
    "import harness.runner as r; cfg = r.RunConfig;"
    "r.RunConfig = lambda s, b='memory', core=None, *a, **k: cfg(s, b,"
    " mutants.core_by_name('checkpointer-disabled-with-runtime'), *a, **k);"
    "sys.exit(cli.main(sys.argv[1:]))"
)


def harness(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_replay_hints_work_from_another_directory(tmp_path: Path) -> None:
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "mine").mkdir(parents=True)
    elsewhere.mkdir()
    bundled = (SCENARIO_DIR / "25-sdk-per-turn-reader.yml").read_text()
    assert "id: sdk-per-turn-reader" in bundled
    (work / "mine" / "reader.yml").write_text(
        bundled.replace("id: sdk-per-turn-reader", "id: my-own-reader")
    )
    proc = subprocess.run(
        [sys.executable, "-c", FAILING, "run", "--scenarios", "mine", "--trace-dir", "traces"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    hints = [line.split("replay: ", 1)[1] for line in proc.stdout.splitlines() if "replay:" in line]
    assert hints, proc.stdout
    for hint in hints:
        words = shlex.split(hint)
        assert words[:2] == ["harness", "replay"] and Path(words[2]).is_absolute()
        trace = json.loads(Path(words[2]).read_text())
        assert Path(trace["scenario_file"]).is_absolute()
        replayed = harness(*words[1:], "--format", "json", cwd=elsewhere)  # no --scenarios
        assert replayed.returncode == 1, replayed.stderr  # the violation, reproduced
        data = json.loads(replayed.stdout)
        assert data["identical"] is True and data["violation"] is not None


def test_run_prints_a_summary_line(tmp_path: Path) -> None:
    proc = harness("run", "--scenario", "turns-basic", "--backend", "memory", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("harness run: 1 passed, 0 failed (1 runs, ")
    assert "\x1b[" not in proc.stdout  # no colour when piped


def test_run_colours_failures_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", FAILING, "run", "--scenario", "sdk-per-turn-reader"],
        cwd=tmp_path,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"},
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=120) == 1
    os.close(master)
    output = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[1;31mVIOLATION sdk-per-turn-reader" in output, output
    assert "\x1b[1;31mharness run: 0 passed, 2 failed" in output, output


def test_suggestions_for_typos(tmp_path: Path) -> None:
    cases = {
        ("rnu",): "(did you mean run?)",
        ("run", "--scenaro", "x"): "(did you mean --scenario?)",
        ("run", "--lane", "sdx"): "(did you mean sdk?)",
        ("run", "--scenario", "turn-basic"): "(did you mean turns-basic?)",
        ("mutants", "--mutant", "projection-before-comit"): "(did you mean "
        "projection-before-commit?)",
    }
    for args, hint in cases.items():
        proc = harness(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert hint in proc.stderr, (args, proc.stderr)


def test_version_and_python_dash_m(tmp_path: Path) -> None:
    from importlib.metadata import version

    proc = harness("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"harness {version('lanes-toolkit')}"
    listing = harness("list", "--format", "json", cwd=tmp_path)
    assert listing.returncode == 0 and json.loads(listing.stdout)


def test_help_is_plain_text(tmp_path: Path) -> None:
    proc = harness("--help", cwd=tmp_path)
    assert proc.returncode == 0 and "--debug" in proc.stdout
    assert "``" not in proc.stdout, proc.stdout
