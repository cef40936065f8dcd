"""Random modes over the same actions and invariants: a Hypothesis rule-based state machine
(shrinks to a minimal step list) and the seeded swarm."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from harness.known import known_issue
from harness.runner import RunConfig, Runner, Stop
from harness.scenario import Expect, FaultSpec, Scenario, SessionSpec, Step
from harness.swarm import swarm
from session_core.faults import SITES

SESSIONS = (SessionSpec("s1"), SessionSpec("s2"), SessionSpec("r1", runtime=False))
SCENARIO = Scenario(
    id="stateful",
    title="hypothesis state machine",
    lanes=("feature",),
    pins="random interleavings of every action",
    backends=("memory",),
    sessions=SESSIONS,
    steps=(),
    faults=(),
    expect=Expect(),
)
session_ids = st.sampled_from([s.id for s in SESSIONS])


class HarnessMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.runner = Runner(RunConfig(SCENARIO, "memory", check_expect=False))
        self.runner.start()
        self.labels = itertools.count()
        self.violation: str | None = None

    def do(self, action: str, session: str | None = None, **args: object) -> None:
        step = Step(action, f"{action}-{next(self.labels)}", 0, session, dict(args))
        try:
            self.runner.step(step)
        except Stop:
            self.violation = self._describe()

    def _describe(self) -> str | None:
        v = self.runner.violations[0]
        if known_issue(SCENARIO, v.to_json()) is not None:
            return None
        return f"{v.checker}: {v.message}"

    @rule(session=session_ids)
    def create(self, session: str) -> None:
        self.do("create", session)

    @rule(session=session_ids, tools=st.booleans())
    def turn(self, session: str, tools: bool) -> None:
        self.do("tool_turn" if tools else "turn", session)

    @rule(session=session_ids, keep=st.integers(0, 3))
    def compact(self, session: str, keep: int) -> None:
        self.do("compact", session, keep_last=keep)

    @rule(session=session_ids)
    def refresh(self, session: str) -> None:
        self.do("refresh", session)

    @rule(session=session_ids)
    def read(self, session: str) -> None:
        self.do("read", session)

    @rule(session=session_ids)
    def archive(self, session: str) -> None:
        self.do("archive", session)

    @rule()
    def restart_and_recover(self) -> None:
        self.do("restart")
        self.do("recover")

    @rule(
        site=st.sampled_from(sorted(SITES)),
        kind=st.sampled_from(("error", "crash", "cancel", "power-loss")),
        session=session_ids,
        skip=st.integers(0, 2),
    )
    def arm_fault(self, site: str, kind: str, session: str, skip: int) -> None:
        self.runner.faults.arm_spec(FaultSpec(site, kind, "once", session, skip))

    @precondition(lambda self: self.violation is None)
    @invariant()
    def no_violation(self) -> None:
        assert self.violation is None, self.violation

    def teardown(self) -> None:
        try:
            if self.violation is None and not self.runner.violations:
                self.runner.finish()
        except Stop:
            self.violation = self._describe()
        finally:
            self.runner.close()
        assert self.violation is None, self.violation


TestHarnessMachine = HarnessMachine.TestCase
TestHarnessMachine.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_swarm_seeds_without_violations() -> None:
    outcomes = list(swarm(range(300), "memory", jobs=2))
    bad = [(o.seed, o.violation) for o in outcomes if o.violation is not None]
    assert bad == []
