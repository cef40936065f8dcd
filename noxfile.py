"""Local sessions: the same checks CI runs, and this repository's lanes.

``nox -s affected`` detects the lanes of your change (merge base with the default branch,
uncommitted and untracked files included), prints why, and runs exactly those lane sessions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

ROOT = Path(__file__).parent
REPORTS = ROOT / "reports"
PACKAGES = ("lanes", "session_core", "harness")
WORKFLOWS = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
LANES = ("minimal", "feature", "sdk", "security", "detector")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on the packages."""
    session.install("-e", ".[dev]")
    session.run("mypy")


def _junit(lane: str, part: str) -> str:
    REPORTS.mkdir(exist_ok=True)
    return str(REPORTS / f"junit-{lane}-{part}.xml")


def _lane_minimal(session: nox.Session) -> None:
    session.install(".")  # the base install only: no extras
    session.run(
        "harness",
        "run",
        "--lane",
        "minimal",
        "--backend",
        "memory",
        "--junit",
        _junit("minimal", "scenarios"),
    )


def _lane_feature(session: nox.Session) -> None:
    session.install(".[test]")
    session.run(
        "harness",
        "run",
        "--lane",
        "feature",
        "--backend",
        "all",
        "--junit",
        _junit("feature", "scenarios"),
    )
    session.run("harness", "explore", "--jobs", str(os.cpu_count() or 1))
    session.run(
        "pytest", "tests/session_core", "tests/harness", f"--junitxml={_junit('feature', 'pytest')}"
    )


def _lane_sdk(session: nox.Session) -> None:
    session.install(".[test]")
    session.run(
        "harness", "run", "--lane", "sdk", "--backend", "all", "--junit", _junit("sdk", "scenarios")
    )
    session.run("pytest", "tests/api", f"--junitxml={_junit('sdk', 'api')}")


def _lane_security(session: nox.Session) -> None:
    session.install(".[dev]")
    session.run(
        "harness",
        "run",
        "--lane",
        "security",
        "--backend",
        "all",
        "--junit",
        _junit("security", "scenarios"),
    )
    session.run("bandit", "-q", "-r", *PACKAGES, "-c", "pyproject.toml")
    session.run("python", "tools/pip_audit_or_skip.py")
    session.run("zizmor", "--offline", *WORKFLOWS, "action.yml")
    session.run("actionlint", *WORKFLOWS)


def _lane_detector(session: nox.Session) -> None:
    session.install(".[test]")
    session.run("pytest", "tests/lanes", f"--junitxml={_junit('detector', 'pytest')}")


RUNNERS = {
    "minimal": _lane_minimal,
    "feature": _lane_feature,
    "sdk": _lane_sdk,
    "security": _lane_security,
    "detector": _lane_detector,
}


@nox.session
@nox.parametrize("lane", LANES, ids=list(LANES))
def lane(session: nox.Session, lane: str) -> None:
    """One CI lane, exactly as the GitHub Actions matrix runs it."""
    RUNNERS[lane](session)


@nox.session(default=False, name="harness-deep")
def harness_deep(session: nox.Session) -> None:
    """Exhaustive exploration with a second fault during recovery (nightly)."""
    session.install(".[test]")
    session.run("harness", "explore", "--deep", "--jobs", str(os.cpu_count() or 1))


@nox.session
def affected(session: nox.Session) -> None:
    """Detect the lanes of the current change, explain why, and run exactly those lanes."""
    session.install(".")
    REPORTS.mkdir(exist_ok=True)
    selection_file = REPORTS / "affected.json"
    session.run("lanes", "detect", "--format", "json", "--output", str(selection_file))
    session.run("lanes", "detect", "--format", "text")
    selected = json.loads(selection_file.read_text())["selected"]
    if not selected:
        session.log("no lane selected by this change")
    for name in selected:
        session.notify(f"lane({name})")
