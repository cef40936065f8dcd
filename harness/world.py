"""One simulated deployment: a backend's durable state, the current process (stores and
services) and the scripted model. Crash, restart and recover act on it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

from harness.backends import Backend
from harness.core import Core, zero_clock
from harness.faults import HarnessFaults
from harness.history import History
from harness.readfaults import ReadFaultRows, ReadFaultRuntime
from harness.scenario import ModelStep, Scenario
from session_core.agent import Agent, CallTools, Say, ScriptedModel, Step
from session_core.errors import StoreClosed
from session_core.factory import Stores
from session_core.faults import NO_FAULTS
from session_core.model import Session
from session_core.recovery import RecoveryReport
from session_core.service import SessionService
from session_core.stores.base import RuntimeStore, SessionStore

PLAIN_MODEL = (ModelStep(say="done"),)
TOOL_MODEL = (ModelStep(tools=("add", "echo")), ModelStep(tools=("echo",)), ModelStep(say="done"))


def _tool_add(args: Mapping[str, object]) -> str:
    a, b = args.get("a", 0), args.get("b", 0)
    return str(a + b) if isinstance(a, int) and isinstance(b, int) else "0"


def _tool_echo(args: Mapping[str, object]) -> str:
    return str(args.get("text", ""))


def _tool_fail(args: Mapping[str, object]) -> str:
    raise RuntimeError("tool failed on purpose")


TOOLS = {"add": _tool_add, "echo": _tool_echo, "fail": _tool_fail}


class AgentCodeError(RuntimeError):
    """An untyped error of the agent's own code (a model step ``raise``): session_core must
    release the run and let this very error through, never replace it."""


def agent_steps(model: Sequence[ModelStep], text: str) -> list[Step]:
    steps: list[Step] = []
    for item in model:
        if item.raises:
            continue  # the model client raises before any step (``World.raising``)
        if item.say is not None:
            steps.append(Say(f"{item.say}: {text}"))
        else:
            args = {"a": 1, "b": 2, "text": text}
            steps.append(CallTools(tuple((name, dict(args)) for name in item.tools)))
    return steps


class World:
    def __init__(
        self,
        scenario: Scenario,
        backend: Backend,
        core: Core,
        faults: HarnessFaults,
        history: History,
    ) -> None:
        self.scenario = scenario
        self.backend = backend
        self.core = core
        self.faults = faults
        self.history = history
        self.runtime_backed = {s.id: s.runtime for s in scenario.sessions}
        self.plans: dict[str, list[Step]] = {}
        self.raising: set[str] = set()
        """Turn texts whose model client raises ``AgentCodeError`` at their next call: the
        step's own run, or, when a crash came first, its redelivery by recovery (which reports
        it and goes on with the other sessions)."""
        self.agent = Agent(model=ScriptedModel(self._script), tools=TOOLS, clock=zero_clock)
        self.stores: Stores | None = None
        self.services: dict[bool, SessionService] = {}
        self.crashed = False
        self.stash: dict[str, bytes] = {}
        self.planted: dict[str, Session] = {}
        """Rows the harness planted (``plant_row``), hidden from the checkers while they stand."""
        self.planted_snapshots: dict[str, tuple[Session, Session | None]] = {}
        """Runtime snapshots the harness planted (``plant_snapshot``): the planted document and
        the one it replaced, shown to the checkers instead while the planted bytes stand."""
        self.counter = itertools.count(1)
        self.recovering = False
        self.after_recovery: list[Callable[[], None]] = []
        """Run when the recovery in progress ends (a gate cancel that landed inside it)."""
        faults.snapshot = backend.snapshot
        faults.power_cut = backend.power_cut
        self.open()

    def _script(self, text: str, turn_index: int) -> list[Step]:
        if text in self.raising:  # the step's own run or its redelivery, once
            self.raising.discard(text)
            raise AgentCodeError(f"the model client failed on {text!r}")
        return self.plans.get(text) or [Say(f"done: {text}")]

    # --- process lifecycle -------------------------------------------------------------------

    def open(self) -> None:
        self.services = {}
        self.stores = None
        self.stores = self.backend.open(self.faults)

    def service(self, session_id: str) -> SessionService:
        return self.service_for(self.runtime_backed.get(session_id, True))

    def service_for(self, runtime_backed: bool) -> SessionService:
        if self.stores is None:
            raise StoreClosed("no process is running (stores could not be opened)")
        svc = self.services.get(runtime_backed)
        if svc is None:
            svc = self.core.service(
                self.stores,
                self.faults,
                runtime_backed=runtime_backed,
                agent=self.agent,
                wrap_reads=self.read_faults,
                wrap_row_reads=self.row_read_faults,
            )
            self.services[runtime_backed] = svc
        return svc

    @contextmanager
    def second_process(self, session_id: str) -> Iterator[SessionService]:
        """Another process over the same durable state: its own stores (lease holder), service
        and gates, no faults; it ends when the block does (``second-writer``)."""
        stores = self.backend.open_other()
        try:
            yield self.core.service(
                stores,
                NO_FAULTS,
                runtime_backed=self.runtime_backed.get(session_id, True),
                agent=self.agent,
            )
        finally:
            stores.close()

    def read_faults(self, runtime: RuntimeStore, sessions: SessionStore) -> RuntimeStore:
        return ReadFaultRuntime(runtime, sessions, self.faults)

    def row_read_faults(self, sessions: SessionStore) -> SessionStore:
        return ReadFaultRows(sessions, self.faults)

    def rows(self, session_id: str) -> SessionStore:
        """The row store the session's service writes, for the harness's own reads (never
        through the read faults: those are the core's)."""
        sessions = self.service(session_id).sessions
        return sessions.inner if isinstance(sessions, ReadFaultRows) else sessions

    def close_stores(self) -> None:
        if self.stores is not None:
            self.stores.close()
        self.stores = None
        self.services = {}

    def crash(self) -> None:
        self.close_stores()
        self.crashed = True

    def restart(self) -> None:
        """A new process over the same durable state (power loss first undoes the torn write)."""
        self.close_stores()
        if self.faults.power_fired and self.faults.taken is not None:
            self.backend.restore(self.faults.taken)
        self.faults.taken = None
        self.faults.restart()
        self.crashed = False
        self.open()

    def apply_power_loss(self) -> None:
        """Called right after a crash: the in-flight write of a power loss never hit the disk."""
        if self.faults.power_fired and self.faults.taken is not None:
            self.close_stores()
            self.backend.restore(self.faults.taken)
            self.faults.taken = None
            self.faults.power_fired = False

    def recover(self, *, redeliver: bool = True) -> list[RecoveryReport]:
        reports = []
        kinds = sorted(set(self.runtime_backed.values()), reverse=True)
        self.recovering = True
        try:
            for runtime_backed in kinds:
                reports.append(self.service_for(runtime_backed).recover(redeliver=redeliver))
        finally:
            self.recovering = False
            finish, self.after_recovery = self.after_recovery, []
            for done in finish:
                done()
        return reports

    def next_input(self, session_id: str) -> str:
        return f"{session_id}.{next(self.counter)}"


__all__ = ["PLAIN_MODEL", "TOOLS", "TOOL_MODEL", "AgentCodeError", "World", "agent_steps"]
