"""Checks that the lanes in ``lanes.yml``, the workflows and the runners cannot drift apart.

A workflow consumes a lane when it

* names it: ``lane(NAME)`` anywhere, or a literal ``lane:`` matrix list;
* gates a job or step on it in an ``if:``: a per-lane boolean output
  (``needs.<job>.outputs.<lane>``, ``steps.<id>.outputs.<lane>``),
  ``contains(fromJSON(<...>.outputs.lanes), '<lane>')`` or ``fromJSON(<...>.outputs.flags).<lane>``;
* or fans out a job over the detect-driven matrix (``fromJSON(<...>.outputs.matrix)``), which
  consumes every lane.

References through a job or step recognised as ``lanes detect`` (a ``run`` calling
``lanes detect``, or the lanes action) are followed through the job's ``outputs`` and are
verified: a name there that is no lane of ``lanes.yml`` is a failure. Through anything else
(a wrapper script, say) only the names of existing lanes count.

The checks: every lane a workflow names exists; every lane is consumed by some workflow; a lane
that only a matrix job using ``matrix.run`` runs has a ``run``; every ``run`` is runnable (a nox
session the noxfile defines is checked strictly; a program missing locally, often a CI-only tool,
is a warning unless ``strict``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lanes.suggest import did_you_mean

LANE_CALL = re.compile(r"lane\(([A-Za-z0-9_-]+)\)")
NOX_TIMEOUT = 60.0
AGGREGATE_OUTPUTS = frozenset({"lanes", "matrix", "mode", "reasons", "diff", "flags", "count"})
"""The outputs of ``lanes detect --format github`` that are not per-lane booleans."""

_REF = r"(needs|steps)\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)"
REFERENCE = re.compile(_REF)
CONTAINS = re.compile(
    r"contains\(\s*(?:fromJSON\(\s*)?" + _REF + r"\s*\)?\s*,\s*'\"?([^'\"]*)\"?'\s*\)",
    re.IGNORECASE,
)
FLAG = re.compile(
    r"fromJSON\(\s*" + _REF + r"\s*\)\s*(?:\.([A-Za-z0-9_-]+)|\[\s*'([^']*)'\s*\])",
    re.IGNORECASE,
)
MATRIX = re.compile(r"fromJSON\(\s*" + _REF + r"\s*\)", re.IGNORECASE)
DETECT_RUN = re.compile(r"\blanes(?:\.cli)?\s+detect\b")
LANES_ACTION = re.compile(r"(?:^|/)lanes(?:-toolkit)?(?:/[^@]*)?@")
STEP_OUTPUT = re.compile(r"steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


@dataclass
class WorkflowLanes:
    named: dict[str, list[str]] = field(default_factory=dict)  # lane -> files consuming it
    dynamic: list[str] = field(default_factory=list)  # files with a detect-driven matrix
    errors: list[str] = field(default_factory=list)
    matrix_run: list[str] = field(default_factory=list)  # files whose matrix jobs use matrix.run

    def add(self, lane: str, file: str) -> None:
        files = self.named.setdefault(lane, [])
        if file not in files:
            files.append(file)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _jobs(document: Any) -> dict[str, dict[str, Any]]:
    jobs = document.get("jobs") if isinstance(document, dict) else None
    if not isinstance(jobs, dict):
        return {}
    return {str(name): job for name, job in jobs.items() if isinstance(job, dict)}


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps")
    return [step for step in steps if isinstance(step, dict)] if isinstance(steps, list) else []


def _matrix_lanes(document: Any) -> Iterator[str]:
    for job in _jobs(document).values():
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        if isinstance(matrix, dict) and isinstance(matrix.get("lane"), list):
            yield from (str(lane) for lane in matrix["lane"])


class _Sources:
    """Which steps and jobs of one workflow are ``lanes detect``, and what their outputs map to.

    ``resolve`` turns a ``needs.<job>.outputs.<name>`` or ``steps.<id>.outputs.<name>``
    reference into ``(detect output name, verified)``, or None when it points at something that
    is known not to be a detect output."""

    def __init__(self, repo: Path, document: Any) -> None:
        self.steps: dict[str, set[str]] = {}  # job -> ids of its detect steps
        self.outputs: dict[str, dict[str, str]] = {}  # detect job -> its output -> detect output
        for name, job in _jobs(document).items():
            ids = {str(s["id"]) for s in _steps(job) if "id" in s and _is_detect(repo, s)}
            if not ids:
                continue
            self.steps[name] = ids
            declared = job.get("outputs")
            mapping: dict[str, str] = {}
            for output, value in (declared if isinstance(declared, dict) else {}).items():
                match = STEP_OUTPUT.search(str(value))
                if match and match.group(1) in ids:
                    mapping[str(output)] = match.group(2)
            self.outputs[name] = mapping

    def resolve(self, job: str, kind: str, source: str, name: str) -> tuple[str, bool] | None:
        if kind == "steps":
            return (name, True) if source in self.steps.get(job, set()) else (name, False)
        if source not in self.outputs:
            return name, False
        mapped = self.outputs[source].get(name)
        return None if mapped is None else (mapped, True)


def _is_detect(repo: Path, step: dict[str, Any]) -> bool:
    if DETECT_RUN.search(str(step.get("run", ""))):
        return True
    uses = str(step.get("uses", ""))
    if uses.startswith("./"):
        return _local_action_is_lanes(repo / uses)
    return bool(LANES_ACTION.search(uses))


def _local_action_is_lanes(directory: Path) -> bool:
    import yaml

    for name in ("action.yml", "action.yaml"):
        try:
            action = yaml.safe_load((directory / name).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        return isinstance(action, dict) and action.get("name") == "lanes"
    return False


def _conditions(job: dict[str, Any]) -> Iterator[str]:
    if "if" in job:
        yield str(job["if"])
    for step in _steps(job):
        if "if" in step:
            yield str(step["if"])


def _output_names(lanes: Iterable[str]) -> dict[str, str]:
    from lanes.outputs.github import output_name

    return {output_name(lane): lane for lane in lanes}


def _gated_lanes(
    condition: str, job: str, sources: _Sources, by_output: dict[str, str]
) -> Iterator[str]:
    """The lanes an ``if:`` condition gates on (unverified references: only known lanes)."""
    spans: list[tuple[int, int]] = []
    for match in CONTAINS.finditer(condition):
        spans.append(match.span())
        resolved = sources.resolve(job, *match.group(1, 2, 3))
        if resolved is not None and resolved[0] == "lanes":
            lane = match.group(4)
            if resolved[1] or lane in by_output.values():
                yield lane
    for match in FLAG.finditer(condition):
        spans.append(match.span())
        resolved = sources.resolve(job, *match.group(1, 2, 3))
        if resolved is not None and resolved[0] == "flags":
            lane = match.group(4) or match.group(5)
            if resolved[1] or lane in by_output.values():
                yield lane
    for match in REFERENCE.finditer(condition):
        if any(start <= match.start() < end for start, end in spans):
            continue
        resolved = sources.resolve(job, *match.group(1, 2, 3))
        if resolved is None or resolved[0] in AGGREGATE_OUTPUTS:
            continue
        name, verified = resolved
        if name in by_output:
            yield by_output[name]
        elif verified:
            yield name


def _read_document(path: Path, found: WorkflowLanes, relative: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        found.errors.append(f"{relative}: cannot read workflow: {error}")
        return None


def workflow_lanes(repo: Path, lanes: Iterable[str] = ()) -> WorkflowLanes:
    """The lanes the workflows consume. ``lanes`` (the configured names) lets references that
    cannot be traced to ``lanes detect`` count when they name an existing lane."""
    by_output = _output_names(lanes)
    found = WorkflowLanes()
    directory = repo / ".github" / "workflows"
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    for path in files:
        relative = path.relative_to(repo).as_posix()
        document = _read_document(path, found, relative)
        if document is None:
            continue
        names = {m for text in _strings(document) for m in LANE_CALL.findall(text)}
        names |= set(_matrix_lanes(document))
        sources = _Sources(repo, document)
        for job_name, job in _jobs(document).items():
            for condition in _conditions(job):
                names |= set(_gated_lanes(condition, job_name, sources, by_output))
            if _fans_out(job, job_name, sources):
                if relative not in found.dynamic:
                    found.dynamic.append(relative)
                if any("matrix.run" in text for text in _strings(job)):
                    found.matrix_run.append(relative)
        for name in sorted(names):
            found.add(name, relative)
    return found


def _fans_out(job: dict[str, Any], name: str, sources: _Sources) -> bool:
    """Whether the job's matrix is the ``matrix`` output of ``lanes detect``."""
    strategy = job.get("strategy")
    matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
    for text in _strings(matrix):
        for match in MATRIX.finditer(text):
            resolved = sources.resolve(name, *match.group(1, 2, 3))
            if resolved is not None and resolved[0] == "matrix":
                return True
    return False


def workflow_problems(
    repo: Path, lanes: list[str], found: WorkflowLanes | None = None
) -> list[str]:
    if not (repo / ".github" / "workflows").is_dir():
        return []
    found = workflow_lanes(repo, lanes) if found is None else found
    problems = list(found.errors)
    for name, files in sorted(found.named.items()):
        if name not in lanes:
            problems.append(
                f"lane {name} is named in {', '.join(files)} but not in lanes.yml"
                + did_you_mean(name, lanes)
            )
    if not found.dynamic:
        problems += [
            f"lane {name} is in lanes.yml but no workflow runs it (no job is gated on it and "
            "none fans out over the lanes detect matrix)"
            for name in lanes
            if name not in found.named
        ]
    return problems


def check(
    repo: Path, runs: dict[str, str | None], *, strict: bool = False
) -> tuple[list[str], list[str]]:
    """Workflow and runner drift: ``(failures, warnings)``."""
    lanes = list(runs)
    if not (repo / ".github" / "workflows").is_dir():
        return runner_problems(repo, runs, strict=strict)
    found = workflow_lanes(repo, lanes)
    # A lane a workflow names or gates on needs no ``run``; one only a matrix job reaches
    # needs it when that job runs ``matrix.run``.
    needs_run = [lane for lane in lanes if lane not in found.named and found.matrix_run]
    problems, warnings = runner_problems(repo, runs, needs_run=needs_run, strict=strict)
    return workflow_problems(repo, lanes, found) + problems, warnings


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


def runner_problems(
    repo: Path,
    runs: dict[str, str | None],
    *,
    needs_run: Iterable[str] | None = None,
    strict: bool = False,
) -> tuple[list[str], list[str]]:
    """Lanes without a runnable ``run`` (missing where ``needs_run`` requires one, an undefined
    nox session), and warnings for what could not be verified: a program that is not installed
    here (a failure when ``strict``). ``needs_run`` None: every lane needs one."""
    required = set(runs if needs_run is None else needs_run)
    problems: list[str] = []
    warnings: list[str] = []
    wanted: dict[str, str] = {}
    for lane, command in runs.items():
        if not (command or "").strip():
            if lane in required:
                problems.append(f"lane {lane} has no 'run' command")
            continue
        sessions = nox_session_names(command or "")
        if sessions is not None:
            wanted.update({session: lane for session in sessions})
            if not sessions:
                problems.append(f"lane {lane}: {command!r} names no nox session (-s NAME)")
        elif not _program_exists(repo, command or ""):
            message = f"lane {lane}: {command!r} runs a program that is not on PATH"
            if strict:
                problems.append(message)
            else:
                warnings.append(f"{message} (not verified here; --strict makes this a failure)")
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


ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _program_exists(repo: Path, command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    while words and ASSIGNMENT.match(words[0]):
        words.pop(0)  # FOO=1 cargo nextest run: the program is cargo
    if not words:
        return False
    program = words[0]
    if "/" in program:
        return (repo / program).is_file() or Path(program).is_file()
    return shutil.which(program) is not None
