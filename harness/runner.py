"""Run one scenario on a fresh core: arm faults, execute steps, capture both stores after
every step and every crash (before and after recovery), check every invariant, then stop the
faults, restart, recover (twice) and check liveness and idempotence."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NoReturn

from harness.actions import Executor
from harness.backends import make_backend
from harness.core import CORRECT, Core
from harness.faults import HarnessFaults
from harness.history import History, Operation
from harness.invariants import END, CheckContext, Violation, check
from harness.scenario import FaultSpec, Scenario, Step
from harness.state import Capturer, WorldState
from harness.world import World
from session_core.errors import SessionCoreError, SimulatedCrash
from session_core.faults import FaultRule


@dataclass(frozen=True)
class RunConfig:
    scenario: Scenario
    backend: str = "memory"
    core: Core = CORRECT
    schedule: tuple[FaultSpec, ...] = ()
    """Extra faults (exploration), armed from the start."""
    deep: FaultSpec | None = None
    """A fault armed during the final recovery (``explore --deep``)."""
    check_expect: bool = True
    """Check the scenario's ``expect`` (off for exploration: faults change outcomes)."""


@dataclass
class RunResult:
    config: RunConfig
    history: History
    states: list[WorldState]
    violations: list[Violation]
    hits: list[tuple[str, str | None]]
    """Fault sites passed while the scenario's steps ran (before the final convergence)."""
    fired: list[bool]
    seconds: float
    recovery_hits: list[tuple[str, str | None]] = field(default_factory=list)
    """Fault sites passed by the first recovery of the final convergence (``--deep`` points)."""

    @property
    def ok(self) -> bool:
        return not self.violations


class Stop(Exception):
    """Raised by ``Runner.step`` / ``finish`` when an invariant is violated."""


@dataclass
class Runner:
    config: RunConfig
    history: History = field(default_factory=History)
    states: list[WorldState] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        cfg = self.config
        self.faults = HarnessFaults()
        self.backend = make_backend(cfg.backend, cfg.core.open_sqlite)
        runtime_backed = {s.id: s.runtime for s in cfg.scenario.sessions}
        self.capturer = Capturer(runtime_backed)
        self.world = World(cfg.scenario, self.backend, cfg.core, self.faults, self.history)
        self.executor = Executor(self.world)
        self.extra = cfg.scenario.expect.invariants if cfg.check_expect else ()
        self.rules: list[FaultRule] = []
        self.step_hits = -1
        self.recovery_span = (0, 0)

    # --- run -----------------------------------------------------------------------------

    def run(self) -> RunResult:
        start = time.perf_counter()
        try:
            self.start()
            for step in self.config.scenario.steps:
                self.step(step)
            self.finish()
        except Stop:
            pass
        finally:
            self.close()
        return self.result(time.perf_counter() - start)

    def start(self) -> None:
        """Arm the scenario's start-of-run faults and the exploration schedule."""
        self._arm(f for f in self.config.scenario.faults if f.step is None)
        self.rules = [self.faults.arm_spec(f) for f in self.config.schedule]

    def step(self, step: Step) -> None:
        """Execute one step, capture both stores, check every invariant (``Stop`` on a
        violation)."""
        self._arm(f for f in self.config.scenario.faults if f.step == step.label)
        if self.world.crashed and step.action not in ("restart", "crash"):
            self._come_back(f"before {step.label}")
        self.executor.run(step)
        if self.world.crashed:
            self.world.apply_power_loss()
            self._capture(step.label, "crashed")
        else:
            self._capture(step.label, "step")

    def finish(self) -> None:
        if self.config.check_expect:
            self._expect()
        self._converge()

    def close(self) -> None:
        self.world.close_stores()
        self.backend.cleanup()

    def result(self, seconds: float) -> RunResult:
        hits = self.faults.hits
        first, last = self.recovery_span
        return RunResult(
            self.config,
            self.history,
            self.states,
            self.violations,
            list(hits if self.step_hits < 0 else hits[: self.step_hits]),
            [rule.fired > 0 for rule in self.rules],
            seconds,
            list(hits[first:last]),
        )

    def _arm(self, specs: Iterable[FaultSpec]) -> None:
        for spec in specs:
            self.faults.arm_spec(spec)

    def _come_back(self, label: str) -> None:
        """The crashed process restarts and recovers before serving the next step."""
        self._restart(label)
        self._recover(label)

    def _restart(self, label: str) -> None:
        try:
            self.world.restart()
        except SessionCoreError:
            self._capture(label, "restarted")
            return
        self._capture(label, "restarted")

    def _recover(self, label: str, attempts: int = 3) -> None:
        """Recovery after a crash; a crash inside recovery is itself restarted and recovered."""
        for _ in range(attempts):
            try:
                self.world.recover()
            except SimulatedCrash:
                self.world.crashed = True
                self.world.apply_power_loss()
                self._capture(label, "crashed")
                self._restart(label)
                continue
            except SessionCoreError:
                pass
            except Exception as exc:
                self._untyped_from_recovery(exc, label)
            break
        self._capture(label, "recovered")

    def _untyped_from_recovery(self, exc: Exception, label: str) -> NoReturn:
        """Recovery lets no untyped error out, not even an agent's own error during a
        redelivery: it would stop the redelivery of every later session at each restart."""
        message = (
            f"recovery raised {type(exc).__name__} ({exc}): the sessions after it were not "
            "recovered or redelivered"
        )
        self.violations.append(Violation("liveness_converged", message, -1, label))
        raise Stop from exc

    def _converge(self) -> None:
        """Faults stop; the operator repairs damaged files; restart; recover; recover again."""
        self.step_hits = len(self.faults.hits)
        self.faults.disarm()
        self.world.close_stores()  # the operator restores backups with the process stopped
        self.backend.repair()
        self._restart("final")
        if self.world.stores is None:
            self.violations.append(
                Violation("liveness_converged", "stores cannot be opened after repair", -1)
            )
            raise Stop
        if self.config.deep is not None:
            self.rules.append(self.faults.arm_spec(self.config.deep))
            try:
                self.world.recover()
            except SimulatedCrash:
                self.world.crashed = True
                self.world.apply_power_loss()
            except SessionCoreError:
                pass
            self._capture("deep", "crashed" if self.world.crashed else "recovered")
            self.faults.disarm()
            self._restart("deep")
        first = len(self.faults.hits)
        self._final_recover()
        self.recovery_span = (first, len(self.faults.hits))
        self._capture("final", "final")
        self._final_recover()
        self._capture("final", "idempotent")

    def _final_recover(self) -> None:
        """With faults stopped, recovery itself must not fail (liveness)."""
        try:
            self.world.recover()
        except SessionCoreError as exc:
            message = f"recovery raised {type(exc).__name__} with faults stopped: {exc}"
            self.violations.append(Violation("liveness_converged", message, -1, "final"))
            raise Stop from exc
        except Exception as exc:
            self._untyped_from_recovery(exc, "final")

    # --- observation -----------------------------------------------------------------------

    def _capture(self, label: str, phase: str) -> None:
        index, events = len(self.states), len(self.history)
        try:
            observer = self.backend.observer()
        except SessionCoreError:
            state = WorldState(index, label, phase, events, {}, "unreadable")
        else:
            state = self._unplanted(self.capturer.capture(observer, index, label, phase, events))
            if state.error is None:
                misfired = tuple(dict.fromkeys(self.faults.misfired))
                state = replace(state, unlocked=self.backend.unlocked_files(), misfired=misfired)
        self.states.append(state)
        found = check(CheckContext(self.history, self.states), self.extra)
        if found:
            self.violations.extend(found[:1])
            raise Stop

    def _unplanted(self, state: WorldState) -> WorldState:
        """A row planted by the harness (``plant_row``) is damage, not an effect of the core:
        while it stands, checkers see no row; while a planted runtime snapshot stands
        (``plant_snapshot``), they see the snapshot it replaced. Final states show everything
        (recovery must have replaced the row; the operator restored the snapshot)."""
        planted, snapshots = self.world.planted, self.world.planted_snapshots
        if not (planted or snapshots) or state.phase in END:
            return state
        sessions = dict(state.sessions)
        for sid, row in planted.items():
            s = sessions.get(sid)
            if s is not None and s.row == row:
                sessions[sid] = replace(s, row=None, unaudited=False)
        for sid, (doc, original) in snapshots.items():
            s = sessions.get(sid)
            if s is not None and s.authority == doc:
                sessions[sid] = replace(s, authority=original)
        return replace(state, sessions=sessions)

    def _expect(self) -> None:
        for problem in expectation_problems(self.config.scenario, self.history, self.states):
            state = self.states[-1] if self.states else None
            index = -1 if state is None else state.index
            self.violations.append(Violation(problem[0], problem[1], index, "expect", "expect"))
            raise Stop


def expectation_problems(
    scenario: Scenario, history: History, states: list[WorldState]
) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for label, wanted in scenario.expected_outcomes().items():
        got = [_names(op) for op in history.operations() if op.invoke.step == label]
        if not got:
            problems.append(("expect.outcome", f"step {label} never ran"))
        elif not all(wanted in names for names in got):
            problems.append(("expect.outcome", f"step {label}: expected {wanted}, got {got}"))
    readable = [s for s in states if s.error is None]
    if scenario.expect.final and readable:
        last = readable[-1]
        for sid, fields in scenario.expect.final.items():
            actual = _final_facts(last, sid)
            for key, value in fields.items():
                if actual.get(key) != value:
                    problems.append(
                        (
                            "expect.final",
                            f"{sid}.{key}: expected {value!r}, got {actual.get(key)!r}",
                        )
                    )
    return problems


def _names(op: Operation) -> list[str]:
    names: list[str] = [op.type]
    if op.done is not None:
        for key in ("outcome", "error", "cause"):
            value = op.done.value.get(key)
            if isinstance(value, str):
                names.append(value)
    return names


def _final_facts(state: WorldState, sid: str) -> dict[str, object]:
    s = state.sessions.get(sid)
    if s is None:
        return {}
    a, p = s.authority, s.row
    return {
        "turns": len(s.authority_turns),
        "projection_turns": len(s.projection_turns),
        "lifecycle": "none" if p is None else p.lifecycle.value,
        "in_sync": a is not None and p is not None and a.revision == p.revision,
        "row": "absent" if p is None else "present",
        "receipts": len(s.receipts),
        "runtime_state": s.runtime_state,
    }


def run(config: RunConfig) -> RunResult:
    return Runner(config).run()


def run_scenario(scenario: Scenario, backend: str = "memory", core: Core = CORRECT) -> RunResult:
    return run(RunConfig(scenario, backend, core))


__all__ = [
    "RunConfig",
    "RunResult",
    "Runner",
    "Stop",
    "expectation_problems",
    "run",
    "run_scenario",
]
