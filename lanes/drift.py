"""Checks that the lanes in ``lanes.yml``, the workflows and the runners cannot drift apart.

* every lane named in a workflow (``lane(NAME)`` in a ``run``, a literal ``lane:`` matrix list)
  exists in ``lanes.yml``;
* every lane of ``lanes.yml`` is reachable from the workflows: named there, or fanned out by a
  job whose matrix comes from ``lanes detect`` (``fromJSON(needs.<job>.outputs.matrix)``);
* every lane has a runnable ``run``: a nox session the noxfile defines, or a command on PATH or
  in the repository.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANE_CALL = re.compile(r"lane\(([A-Za-z0-9_-]+)\)")
DYNAMIC_MATRIX = re.compile(r"fromJSON\(\s*needs\.[A-Za-z0-9_-]+\.outputs\.matrix\s*\)")
NOX_TIMEOUT = 60.0


@dataclass
class WorkflowLanes:
    named: dict[str, list[str]] = field(default_factory=dict)  # lane -> files naming it
    dynamic: list[str] = field(default_factory=list)  # files with a detect-driven matrix
    errors: list[str] = field(default_factory=list)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _matrix_lanes(document: Any) -> Iterator[str]:
    jobs = document.get("jobs") if isinstance(document, dict) else None
    for job in (jobs or {}).values():
        matrix = job.get("strategy", {}).get("matrix") if isinstance(job, dict) else None
        if isinstance(matrix, dict) and isinstance(matrix.get("lane"), list):
            yield from (str(lane) for lane in matrix["lane"])


def workflow_lanes(repo: Path) -> WorkflowLanes:
    import yaml

    found = WorkflowLanes()
    directory = repo / ".github" / "workflows"
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    for path in files:
        relative = path.relative_to(repo).as_posix()
        try:
            document = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            found.errors.append(f"{relative}: cannot read workflow: {error}")
            continue
        names = {m for text in _strings(document) for m in LANE_CALL.findall(text)}
        names |= set(_matrix_lanes(document))
        for name in names:
            found.named.setdefault(name, []).append(relative)
        if any(DYNAMIC_MATRIX.search(text) for text in _strings(document)):
            found.dynamic.append(relative)
    return found


def workflow_problems(repo: Path, lanes: list[str]) -> list[str]:
    if not (repo / ".github" / "workflows").is_dir():
        return []
    found = workflow_lanes(repo)
    problems = list(found.errors)
    for name, files in sorted(found.named.items()):
        if name not in lanes:
            problems.append(f"lane {name} is named in {', '.join(files)} but not in lanes.yml")
    if not found.dynamic:
        problems += [
            f"lane {name} is in lanes.yml but no workflow runs it"
            for name in lanes
            if name not in found.named
        ]
    return problems


def nox_session_names(command: str) -> list[str] | None:
    """The sessions a ``nox ...`` command runs, or None when it is not a nox command."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or Path(words[0]).name != "nox":
        return None
    names: list[str] = []
    taking = False
    for word in words[1:]:
        if word in ("-s", "--session", "--sessions", "-e"):
            taking = True
        elif word.startswith("-"):
            taking = False
        elif taking:
            names.append(word)
    return names


def missing_nox_sessions(repo: Path, names: list[str]) -> list[str] | None:
    """Which of ``names`` the repository's noxfile does not define (None: nox cannot tell)."""
    if not names:
        return []
    if not (repo / "noxfile.py").is_file():
        return names
    command = [sys.executable, "-m", "nox", "--list", "--json", "--sessions", *names]
    try:
        result = subprocess.run(
            command, cwd=repo, capture_output=True, text=True, timeout=NOX_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode == 0:
        return []
    match = re.search(r"Sessions not found: (.*)", result.stderr)
    if match is None:
        return None
    return [name.strip() for name in match.group(1).split(",")]


def runner_problems(repo: Path, runs: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """Lanes without a runnable ``run`` (missing, an undefined nox session, an unknown program),
    and warnings for what could not be verified."""
    problems: list[str] = []
    warnings: list[str] = []
    wanted: dict[str, str] = {}
    for lane, command in runs.items():
        if not (command or "").strip():
            problems.append(f"lane {lane} has no 'run' command")
            continue
        sessions = nox_session_names(command or "")
        if sessions is not None:
            wanted.update({session: lane for session in sessions})
            if not sessions:
                problems.append(f"lane {lane}: {command!r} names no nox session (-s NAME)")
        elif not _program_exists(repo, command or ""):
            problems.append(f"lane {lane}: {command!r} runs a program that is not on PATH")
    missing = missing_nox_sessions(repo, sorted(wanted))
    if missing is None:
        warnings.append("cannot list nox sessions (is nox installed?): nox runs not verified")
    else:
        problems += [
            f"lane {wanted[name]}: nox session {name} is not defined in noxfile.py"
            for name in missing
            if name in wanted
        ]
    return problems, warnings


def _program_exists(repo: Path, command: str) -> bool:
    try:
        program = shlex.split(command)[0]
    except (ValueError, IndexError):
        return False
    if "/" in program:
        return (repo / program).is_file() or Path(program).is_file()
    return shutil.which(program) is not None
