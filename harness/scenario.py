"""Scenario schema and loader (YAML under ``harness/scenarios/``).

Every validation error names ``file:line`` and what was expected (``ScenarioError``; the CLI
exits 2). See docs/harness.md for the format.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.commits import COMMIT_KINDS, HARNESS_SITES, SYNC_SITES
from harness.yamlnodes import Located, ScenarioError, load_located
from session_core.faults import SITES

LANES = ("minimal", "feature", "sdk", "security")
BACKENDS = ("memory", "sqlite")
FAULT_KINDS = (
    "error",
    "crash",
    "cancel",
    "power-loss",
    "gate-cancel",
    "sync-error",
    "read-error",
    "torn",
    "lost",
    "commit-error",
    "second-writer",
)

FAULT_MODES = ("once", "persistent")
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{2,79}")
SCENARIO_DIR = Path(__file__).parent / "scenarios"

ACTIONS: dict[str, str] = {
    "create": "create a session (runtime-backed or not, see sessions)",
    "turn": "one turn; model script defaults to a plain answer",
    "tool_turn": "one turn whose model calls two tool batches (two in-run checkpoints)",
    "compact": "compaction rewrite committed as its own run",
    "refresh": "system-refresh rewrite (same length) committed as its own run",
    "cancel": "cancel the session's checkpointer gate (shutdown)",
    "archive": "archive the session",
    "crash": "simulated process crash between steps",
    "restart": "new stores and service over the same disk / files",
    "recover": "run recovery (and redelivery)",
    "read": "consumer read of the projection (or authority) through SessionReader",
    "stash": "keep the session's committed snapshot bytes under a name",
    "late_checkpoint": "call the post-commit hook with stashed bytes (late finalizer)",
    "quarantine": "clear a rejected runtime snapshot by byte CAS (stashed bytes)",
    "corrupt": "damage a SQLite file (garbage, foreign, newer_schema, missing, empty)",
    "corrupt_row": "store undecodable bytes in a session's projection row",
    "plant_row": "replace a session's row by one ahead of or diverged from the authority",
    "plant_snapshot": "replace a session's runtime snapshot by stashed bytes (memory backend)",
    "stale_commit": "a run whose lease was taken over tries to commit (fencing)",
    "hold_lease": "a live run of this process takes the session's lease and never ends",
    "concurrent": "run several step lists at once (one process each)",
}
SESSION_ACTIONS = frozenset(
    {
        "create",
        "turn",
        "tool_turn",
        "compact",
        "refresh",
        "cancel",
        "archive",
        "read",
        "stash",
        "late_checkpoint",
        "quarantine",
        "corrupt_row",
        "plant_row",
        "plant_snapshot",
        "stale_commit",
        "hold_lease",
    }
)
_ARGS: dict[str, frozenset[str]] = {
    "create": frozenset({"session", "system"}),
    "turn": frozenset({"session", "text", "input", "model", "refresh", "compact"}),
    "tool_turn": frozenset({"session", "text", "input", "model", "refresh", "compact"}),
    "compact": frozenset({"session", "keep_last"}),
    "refresh": frozenset({"session", "text"}),
    "cancel": frozenset({"session"}),
    "archive": frozenset({"session"}),
    "read": frozenset({"session", "source"}),
    "stash": frozenset({"session", "as"}),
    "late_checkpoint": frozenset({"session", "stash"}),
    "quarantine": frozenset({"session", "stash"}),
    "corrupt_row": frozenset({"session"}),
    "plant_row": frozenset({"session", "shape"}),
    "plant_snapshot": frozenset({"session", "stash"}),
    "stale_commit": frozenset({"session"}),
    "hold_lease": frozenset({"session"}),
    "crash": frozenset(),
    "restart": frozenset(),
    "recover": frozenset({"redeliver"}),
    "corrupt": frozenset({"file", "how"}),
}
FINAL_KEYS = frozenset(
    {"turns", "projection_turns", "lifecycle", "in_sync", "row", "receipts", "runtime_state"}
)


@dataclass(frozen=True)
class ModelStep:
    """``say`` text, a ``tools`` batch (tool names), or ``raise``: the model client itself
    fails with an untyped error (``harness.world.AgentCodeError``), not a tool."""

    say: str | None = None
    tools: tuple[str, ...] = ()
    raises: bool = False


@dataclass(frozen=True)
class Step:
    action: str
    label: str
    line: int
    session: str | None = None
    args: dict[str, object] = field(default_factory=dict)
    model: tuple[ModelStep, ...] | None = None
    expect: str | None = None
    processes: tuple[tuple[Step, ...], ...] = ()
    threads: bool = False
    batch: bool = False
    """``concurrent: {batch: true}``: threads whose writes form group-commit batches the
    harness makes deterministic (``harness.batches``, SQLite)."""

    def arg(self, name: str, default: object = None) -> object:
        return self.args.get(name, default)


@dataclass(frozen=True)
class FaultSpec:
    site: str
    kind: str
    mode: str = "once"
    session: str | None = None
    skip: int = 0
    step: str | None = None
    """Label of the step before which the fault is armed (``None``: from the start)."""

    def to_json(self) -> dict[str, object]:
        return {
            "site": self.site,
            "kind": self.kind,
            "mode": self.mode,
            "session": self.session,
            "skip": self.skip,
            "step": self.step,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FaultSpec:
        session, step = data.get("session"), data.get("step")
        skip = data.get("skip", 0)
        return cls(
            str(data["site"]),
            str(data["kind"]),
            str(data.get("mode", "once")),
            None if session is None else str(session),
            skip if isinstance(skip, int) else 0,
            None if step is None else str(step),
        )


@dataclass(frozen=True)
class SessionSpec:
    id: str
    runtime: bool = True


@dataclass(frozen=True)
class Expect:
    outcomes: dict[str, str] = field(default_factory=dict)
    final: dict[str, dict[str, object]] = field(default_factory=dict)
    invariants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    lanes: tuple[str, ...]
    pins: str
    backends: tuple[str, ...]
    sessions: tuple[SessionSpec, ...]
    steps: tuple[Step, ...]
    faults: tuple[FaultSpec, ...]
    expect: Expect
    file: str = ""
    explore: tuple[str, ...] = ()
    """Backends ``harness explore`` covers by default (the quick tier): memory, or the
    scenario's own backends when it does not run on memory. A SQLite entry adds the SQLite
    slice: the backend's commit-site points (``harness.commits``)."""

    def session(self, session_id: str) -> SessionSpec:
        for spec in self.sessions:
            if spec.id == session_id:
                return spec
        raise KeyError(session_id)

    def all_steps(self) -> list[Step]:
        return list(_walk(self.steps))

    def expected_outcomes(self) -> dict[str, str]:
        found = {s.label: s.expect for s in self.all_steps() if s.expect is not None}
        return {**found, **self.expect.outcomes}


def _walk(steps: Iterable[Step]) -> Iterable[Step]:
    for step in steps:
        yield step
        for process in step.processes:
            yield from _walk(process)


# --- loading -------------------------------------------------------------------------------

_TOP = frozenset(
    {"id", "title", "lanes", "pins", "backends", "explore", "sessions", "steps", "faults", "expect"}
)
_REQUIRED = ("id", "title", "lanes", "pins", "steps")


def load_scenario(path: str | Path) -> Scenario:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(file, 0, f"cannot read: {exc}") from exc
    return parse_scenario(text, file)


def parse_scenario(text: str, file: str = "<scenario>") -> Scenario:
    root = load_located(text, file)
    top = root.mapping("scenario", _TOP)
    for key in _REQUIRED:
        if key not in top:
            raise root.fail(f"scenario: missing required key {key!r}")
    scenario_id = top["id"].text("id")
    if ID_RE.fullmatch(scenario_id) is None:
        raise top["id"].fail("id: expected 3-80 chars of [a-z0-9-], starting alphanumeric")
    sessions = _sessions(top.get("sessions"), root)
    known = {s.id for s in sessions}
    steps = tuple(_steps(top["steps"], known, "steps", set()))
    if not steps:
        raise top["steps"].fail("steps: expected at least one step")
    labels = {s.label for s in _walk(steps)}
    backends = _choices(top["backends"], "backends", BACKENDS) if "backends" in top else BACKENDS
    return Scenario(
        id=scenario_id,
        title=top["title"].text("title"),
        lanes=_choices(top["lanes"], "lanes", LANES),
        pins=top["pins"].text("pins"),
        backends=backends,
        explore=_explore(top.get("explore"), backends),
        sessions=sessions,
        steps=steps,
        faults=tuple(_faults(top.get("faults"), known, labels)),
        expect=_expect(top.get("expect"), known, labels),
        file=file,
    )


def _choices(node: Located, what: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = node.items(what)
    if not items:
        raise node.fail(f"{what}: expected at least one of {', '.join(allowed)}")
    values = tuple(item.choice(what, allowed) for item in items)
    if len(set(values)) != len(values):
        raise node.fail(f"{what}: duplicate entries")
    return values


def _explore(node: Located | None, backends: tuple[str, ...]) -> tuple[str, ...]:
    if node is None:
        return ("memory",) if "memory" in backends else backends
    chosen = _choices(node, "explore", BACKENDS)
    for backend in chosen:
        if backend not in backends:
            raise node.fail(f"explore: {backend} is not one of the scenario's backends")
    return chosen


def _sessions(node: Located | None, root: Located) -> tuple[SessionSpec, ...]:
    if node is None:
        return (SessionSpec("s1"),)
    specs: list[SessionSpec] = []
    for item in node.items("sessions"):
        if isinstance(item.value, str):
            specs.append(SessionSpec(item.text("sessions[]")))
            continue
        fields = item.mapping("session", frozenset({"id", "runtime"}))
        if "id" not in fields:
            raise item.fail("session: missing required key 'id'")
        runtime = fields["runtime"].boolean("runtime") if "runtime" in fields else True
        specs.append(SessionSpec(fields["id"].text("session id"), runtime))
    if len({s.id for s in specs}) != len(specs):
        raise (node or root).fail("sessions: duplicate session ids")
    return tuple(specs)


def _steps(node: Located, known: set[str], where: str, labels: set[str]) -> list[Step]:
    steps: list[Step] = []
    for index, item in enumerate(node.items(where)):
        step = _step(item, known, f"{where}[{index}]", index, labels)
        if step.label in labels:
            raise item.fail(f"{where}[{index}]: duplicate label {step.label!r}")
        labels.add(step.label)
        steps.append(step)
    return steps


def _step(item: Located, known: set[str], where: str, index: int, labels: set[str]) -> Step:
    fields = item.mapping(where)
    actions = [key for key in fields if key not in ("label", "expect")]
    if len(actions) != 1 or actions[0] not in ACTIONS:
        names = ", ".join(ACTIONS)
        raise item.fail(f"{where}: expected exactly one action key (one of: {names})")
    action = actions[0]
    value = fields[action]
    label = fields["label"].text("label") if "label" in fields else f"{action}#{where}"
    expect = fields["expect"].text("expect") if "expect" in fields else None
    if action == "concurrent":
        return _concurrent(value, known, where, label, expect, labels)
    args = _args(value, action, where)
    session = args.pop("session", None)
    if action in SESSION_ACTIONS:
        if not isinstance(session, str):
            raise value.fail(f"{where}: {action} needs a session id")
        if session not in known:
            raise value.fail(f"{where}: unknown session {session!r} (declare it in sessions)")
    model = _model(value, where) if action in ("turn", "tool_turn") else None
    _check_args(action, args, value, where)
    return Step(
        action,
        label,
        item.line,
        session if isinstance(session, str) else None,
        args,
        model,
        expect,
    )


def _args(value: Located, action: str, where: str) -> dict[str, object]:
    if value.value is None:
        return {}
    if isinstance(value.value, str):
        return {"session": value.value}
    fields = value.mapping(f"{where}.{action}", _ARGS[action])
    return {key: node.value for key, node in fields.items() if key != "model"}


def _check_args(action: str, args: dict[str, object], node: Located, where: str) -> None:
    ints = {"keep_last": 0, "compact": 0}
    for name, minimum in ints.items():
        if name in args:
            value = args[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise node.fail(f"{where}.{name}: expected an integer >= {minimum}")
    choices = {
        "source": ("projection", "authority"),
        "file": ("runtime", "sessions"),
        "how": ("garbage", "foreign", "newer_schema", "missing", "empty"),
        "shape": ("ahead", "diverged"),
    }
    for name, allowed in choices.items():
        if name in args and args[name] not in allowed:
            raise node.fail(f"{where}.{name}: expected one of {', '.join(allowed)}")
    if action in ("stash", "late_checkpoint", "quarantine"):
        key = "as" if action == "stash" else "stash"
        if not isinstance(args.get(key), str):
            raise node.fail(f"{where}: {action} needs '{key}' (a stash name)")
    if action == "corrupt" and ("file" not in args or "how" not in args):
        raise node.fail(f"{where}: corrupt needs 'file' and 'how'")
    for name in ("text", "input", "refresh", "system"):
        if name in args and not isinstance(args[name], str):
            raise node.fail(f"{where}.{name}: expected a string")
    if "redeliver" in args and not isinstance(args["redeliver"], bool):
        raise node.fail(f"{where}.redeliver: expected true or false")


def _model(value: Located, where: str) -> tuple[ModelStep, ...] | None:
    if not isinstance(value.value, dict) or "model" not in value.value:
        return None
    node: Located = value.value["model"]
    steps: list[ModelStep] = []
    for item in node.items(f"{where}.model"):
        fields = item.mapping(f"{where}.model[]", frozenset({"say", "tools", "raise"}))
        if len(fields) != 1:
            raise item.fail(f"{where}.model[]: expected exactly one of say, tools, raise")
        if "raise" in fields:
            if fields["raise"].value is not True:
                raise fields["raise"].fail(f"{where}.model[].raise: expected true")
            steps.append(ModelStep(raises=True))
        elif "say" in fields:
            steps.append(ModelStep(say=str(fields["say"].value)))
        else:
            steps.append(ModelStep(tools=tuple(fields["tools"].texts(f"{where}.model.tools"))))
    return tuple(steps)


def _concurrent(
    value: Located,
    known: set[str],
    where: str,
    label: str,
    expect: str | None,
    labels: set[str],
) -> Step:
    threads = batch = False
    processes_node = value
    if value.is_map:
        fields = value.mapping(f"{where}.concurrent", frozenset({"threads", "processes", "batch"}))
        if "processes" not in fields:
            raise value.fail(f"{where}.concurrent: missing 'processes'")
        threads = fields["threads"].boolean("threads") if "threads" in fields else False
        batch = fields["batch"].boolean("batch") if "batch" in fields else False
        threads = threads or batch
        processes_node = fields["processes"]
    processes = []
    for index, proc in enumerate(processes_node.items(f"{where}.concurrent")):
        steps = _steps(proc, known, f"{where}.concurrent[{index}]", labels)
        for step in steps:
            if step.action not in SESSION_ACTIONS:
                raise proc.fail(f"{where}: only session steps may run concurrently")
        processes.append(tuple(steps))
    if len(processes) < 2:
        raise processes_node.fail(f"{where}.concurrent: expected at least two processes")
    return Step(
        "concurrent", label, value.line, None, {}, None, expect, tuple(processes), threads, batch
    )


def _store_site(site: str) -> bool:
    """A session_core store operation's ``.before`` / ``.after`` site."""
    return site in SITES and site.split(".", 1)[0] in ("runtime", "sessions", "audit")


def _faults(node: Located | None, known: set[str], labels: set[str]) -> Iterable[FaultSpec]:
    if node is None:
        return
    allowed = frozenset({"site", "kind", "mode", "session", "skip", "step"})
    for item in node.items("faults"):
        fields = item.mapping("fault", allowed)
        for key in ("site", "kind"):
            if key not in fields:
                raise item.fail(f"fault: missing required key {key!r}")
        site = fields["site"].text("fault.site")
        if site not in SITES and site not in HARNESS_SITES and site not in SYNC_SITES:
            raise fields["site"].fail(f"fault.site: unknown fault site {site!r}")
        kind = fields["kind"].choice("fault.kind", FAULT_KINDS)
        if (kind == "commit-error") != (site in SYNC_SITES):
            sites = ", ".join(SYNC_SITES)
            raise fields["kind"].fail(
                f"fault.kind: commit-error is the only kind at, and only at, {sites}"
            )
        if site in SYNC_SITES and "session" in fields:
            raise fields["session"].fail("fault.session: a COMMIT is a whole batch's (no session)")
        if kind in COMMIT_KINDS and site not in HARNESS_SITES:
            sites = ", ".join(sorted(HARNESS_SITES))
            raise fields["kind"].fail(f"fault.kind: {kind} only at the commit sites {sites}")
        if kind in ("sync-error", "read-error") and not _store_site(site):
            raise fields["kind"].fail(
                f"fault.kind: {kind} only at store sites (runtime.*, sessions.*, audit.*)"
            )
        session = fields["session"].text("fault.session") if "session" in fields else None
        if session is not None and session not in known:
            raise fields["session"].fail(f"fault.session: unknown session {session!r}")
        step = fields["step"].text("fault.step") if "step" in fields else None
        if step is not None and step not in labels:
            raise fields["step"].fail(f"fault.step: no step labelled {step!r}")
        yield FaultSpec(
            site,
            kind,
            fields["mode"].choice("fault.mode", FAULT_MODES) if "mode" in fields else "once",
            session,
            fields["skip"].integer("fault.skip") if "skip" in fields else 0,
            step,
        )


def _expect(node: Located | None, known: set[str], labels: set[str]) -> Expect:
    if node is None:
        return Expect()
    fields = node.mapping("expect", frozenset({"outcomes", "final", "invariants"}))
    outcomes: dict[str, str] = {}
    if "outcomes" in fields:
        for label, value in fields["outcomes"].mapping("expect.outcomes").items():
            if label not in labels:
                raise value.fail(f"expect.outcomes: no step labelled {label!r}")
            outcomes[label] = value.text(f"expect.outcomes.{label}")
    final: dict[str, dict[str, object]] = {}
    if "final" in fields:
        for sid, value in fields["final"].mapping("expect.final").items():
            if sid not in known:
                raise value.fail(f"expect.final: unknown session {sid!r}")
            entries = value.mapping(f"expect.final.{sid}", FINAL_KEYS)
            final[sid] = {key: item.value for key, item in entries.items()}
    invariants: tuple[str, ...] = ()
    if "invariants" in fields:
        from harness.invariants import CHECKERS

        invariants = tuple(fields["invariants"].texts("expect.invariants"))
        for name in invariants:
            if name not in CHECKERS:
                raise fields["invariants"].fail(f"expect.invariants: unknown checker {name!r}")
    return Expect(outcomes, final, invariants)


def scenario_dir() -> Path:
    """The catalogue: ``$HARNESS_SCENARIOS`` if set (``harness --scenarios DIR``), else the
    bundled ``harness/scenarios``."""
    return Path(os.environ.get("HARNESS_SCENARIOS") or SCENARIO_DIR)


def scenario_files(directory: Path | None = None) -> list[Path]:
    return sorted((directory or scenario_dir()).glob("*.yml"))


def load_all(paths: Sequence[Path] | None = None) -> list[Scenario]:
    """Every bundled scenario, sorted by id; ``ScenarioError`` on the first bad file."""
    scenarios = [load_scenario(path) for path in (paths or scenario_files())]
    seen: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise ScenarioError(scenario.file, 1, f"duplicate scenario id {scenario.id!r}")
        seen[scenario.id] = scenario.file
    return sorted(scenarios, key=lambda s: s.id)


def select(
    scenarios: Iterable[Scenario], lane: str | None = None, scenario_id: str | None = None
) -> list[Scenario]:
    result = [s for s in scenarios if lane is None or lane in s.lanes]
    return [s for s in result if scenario_id is None or s.id == scenario_id]


__all__ = [
    "ACTIONS",
    "BACKENDS",
    "FAULT_KINDS",
    "FAULT_MODES",
    "LANES",
    "SCENARIO_DIR",
    "Expect",
    "FaultSpec",
    "ModelStep",
    "Scenario",
    "ScenarioError",
    "SessionSpec",
    "Step",
    "load_all",
    "load_scenario",
    "parse_scenario",
    "scenario_dir",
    "scenario_files",
    "select",
]
