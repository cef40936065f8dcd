"""Invariant checkers: small named functions over a history and the captured store states.

Each checker looks at the latest state (and, where the property is about change, earlier
ones) and returns a message when the property is violated. ``CHECKERS`` is the registry; the
runner calls ``check`` after every step, on every crashed state, before and after recovery.

Every capture is checked; what was already computed is not computed again:

* checks over one session's state alone go through ``_each``, which keeps each verdict in the
  (immutable, interned) ``SessionState.memo``;
* history-only parts of checkers go through ``CheckContext.over_history`` (kept per history
  length);
* ``check`` keeps the verdicts of a whole capture by everything the checkers read (see
  ``_VERDICTS``), so a capture equal to an earlier one, in this run or another run of the
  process (every exploration run of a scenario repeats its prefix), is judged once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.history import History, Operation
from harness.state import SessionState, WorldState
from session_core.errors import HistoryError
from session_core.model import Message, RewriteCommit, Session, history_steps, same_messages

ALWAYS = frozenset({"step", "crashed", "restarted", "recovered", "final", "idempotent"})
END = frozenset({"final", "idempotent"})
"""Checkers over the history alone run once the run is complete (the history only grows)."""
TURN_OPS = frozenset({"turn"})
BAD_FILE_ERRORS = frozenset(
    {
        "CorruptDatabase",
        "ForeignDatabase",
        "SchemaTooNew",
        "MissingStoreFile",
        "StoreIdentityMismatch",
        "WrongStoreFile",
    }
)

T = TypeVar("T")
_UNSET: Any = object()


@dataclass
class CheckContext:
    """The history and the states captured so far; derived views are computed once."""

    history: History
    states: list[WorldState]
    _ops: list[Operation] | None = field(default=None, init=False, repr=False)
    _done_latest: list[Operation] | None = field(default=None, init=False, repr=False)
    _previous: WorldState | None = field(default=_UNSET, init=False, repr=False)

    @property
    def ops(self) -> list[Operation]:
        ops = self._ops
        if ops is None:
            ops = self._ops = self.history.operations()
        return ops

    @property
    def latest(self) -> WorldState:
        return self.states[-1]

    def readable(self) -> list[WorldState]:
        return [s for s in self.states if s.error is None]

    def done_before(self, state: WorldState) -> list[Operation]:
        if state is not self.latest:
            return self._done(state.events)
        done = self._done_latest
        if done is None:
            done = self._done_latest = self._done(state.events)
        return done

    def _done(self, events: int) -> list[Operation]:
        return [op for op in self.ops if op.done is not None and op.done.index < events]

    def over_history(self, fn: Callable[[CheckContext], T]) -> T:
        """``fn(self)`` for an ``fn`` that reads the history alone (``ops``): computed once
        per history length and shared by every capture until the next event."""
        return self.history.derived(fn.__name__, fn, self)

    def previous(self) -> WorldState | None:
        """The last readable state before the latest one."""
        if self._previous is _UNSET:
            self._previous = next((s for s in reversed(self.states[:-1]) if s.error is None), None)
        return self._previous


Check = Callable[[CheckContext], str | None]


@dataclass(frozen=True)
class Checker:
    name: str
    fn: Check
    doc: str
    phases: frozenset[str] = ALWAYS
    opt_in: bool = False


@dataclass(frozen=True)
class Violation:
    checker: str
    message: str
    state: int = -1
    label: str = ""
    phase: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "checker": self.checker,
            "message": self.message,
            "state": self.state,
            "label": self.label,
            "phase": self.phase,
        }


CHECKERS: dict[str, Checker] = {}
_PLANS: dict[tuple[str, tuple[str, ...], str | None], tuple[Checker, ...]] = {}
"""The checkers to run in a phase (given the opt-ins and the phase of an identical state
checked just before); reset by ``register``."""


def register(
    name: str, *, phases: frozenset[str] = ALWAYS, opt_in: bool = False
) -> Callable[[Check], Check]:
    def wrap(fn: Check) -> Check:
        CHECKERS[name] = Checker(name, fn, (fn.__doc__ or "").strip(), phases, opt_in)
        _PLANS.clear()
        _VERDICTS.clear()
        return fn

    return wrap


def _plan(phase: str, extra: Iterable[str], skip: str | None) -> tuple[Checker, ...]:
    """Every registered checker for ``phase`` in registration order (the default ones plus
    the opt-in checkers named in ``extra``), except those that ran in phase ``skip``."""
    key = (phase, tuple(extra), skip)
    found = _PLANS.get(key)
    if found is None:
        wanted = set(key[1])
        found = tuple(
            c
            for c in CHECKERS.values()
            if phase in c.phases
            and (not c.opt_in or c.name in wanted)
            and (skip is None or skip not in c.phases)
        )
        _PLANS[key] = found
    return found


def check(ctx: CheckContext, extra: Iterable[str] = ()) -> list[Violation]:
    """Run every applicable checker on the latest state (plus opt-in ``extra`` checkers)."""
    state = ctx.latest
    if state.error is not None:
        return []
    before = ctx.states[-2] if len(ctx.states) > 1 else None
    # Same stores and same history as the state just checked: a checker that already
    # passed on ``before`` would pass again.
    skip = before.phase if before is not None and state.same_as(before) else None
    opted = tuple(extra)
    key = _verdict_key(ctx, opted, skip)
    verdicts = _VERDICTS.get(key)
    if verdicts is None:
        verdicts = _verdicts(ctx, _plan(state.phase, opted, skip))
        if len(_VERDICTS) >= VERDICT_LIMIT:
            _VERDICTS.clear()
        _VERDICTS[key] = verdicts
    return [Violation(name, msg, state.index, state.label, state.phase) for name, msg in verdicts]


def _verdicts(ctx: CheckContext, plan: tuple[Checker, ...]) -> tuple[tuple[str, str], ...]:
    found = []
    for checker in plan:
        message = checker.fn(ctx)
        if message is not None:
            found.append((checker.name, message))
    return tuple(found)


VERDICT_LIMIT = 4096
_VERDICTS: dict[tuple[object, ...], tuple[tuple[str, str], ...]] = {}
"""Checker verdicts by everything the checkers read: the plan (phase, opt-ins, skipped
phase), the whole history (as event numbers), and the latest and previous readable states
(events seen, unknown sessions, each session state by serial). Checkers are deterministic
functions of these, so equal inputs (the same prefix in another run of a scenario) are
judged once. Reset by ``register``."""


def _verdict_key(ctx: CheckContext, opted: tuple[str, ...], skip: str | None) -> tuple[object, ...]:
    state, prev = ctx.latest, ctx.previous()
    return (
        state.phase,
        opted,
        skip,
        ctx.history.content_key(),
        state.events,
        state.extra_ids,
        state.unlocked,
        state.misfired,
        _serials(state),
        None if prev is None else (prev.events, prev.extra_ids, _serials(prev)),
    )


def _serials(state: WorldState) -> tuple[tuple[str, int], ...]:
    return tuple((sid, s.serial) for sid, s in state.sessions.items())


def _runtime(state: WorldState) -> list[SessionState]:
    return [s for s in state.sessions.values() if s.runtime_backed]


SessionCheck = Callable[[SessionState], str | None]


def _each(state: WorldState, fn: SessionCheck) -> str | None:
    """The first problem ``fn`` finds in the sessions of ``state``. ``fn`` depends on the
    session state alone, so its verdict is kept in the state's ``memo`` (it is immutable)."""
    name = fn.__name__
    for s in state.sessions.values():
        memo = s.memo
        if name in memo:
            message = memo[name]
        else:
            message = memo[name] = fn(s)
        if message is not None:
            return message
    return None


# --- the checkers ----------------------------------------------------------------------------


@register("projection_not_ahead")
def projection_not_ahead(ctx: CheckContext) -> str | None:
    """The projection never shows a turn the authority has not committed (I1, I2)."""
    return _each(ctx.latest, _ahead)


def _ahead(s: SessionState) -> str | None:
    if not s.runtime_backed:
        return None
    extra = Counter(s.projection_turns) - Counter(s.authority_turns)
    if extra:
        return f"{s.id}: projection shows uncommitted turns {sorted(extra)}"
    if s.row is not None and s.authority is None:
        return f"{s.id}: projection row exists but the authority has no committed snapshot"
    return None


def _reference(authority: Session, known: int) -> tuple[Message, ...] | None:
    try:
        steps = history_steps(authority)
    except HistoryError:
        return None
    return steps[known].parent if known < len(steps) else authority.messages


@register("projection_prefix")
def projection_prefix(ctx: CheckContext) -> str | None:
    """The projection is a prefix of the authority's history: lag allowed, divergence not."""
    return _each(ctx.latest, _diverged)


def _diverged(s: SessionState) -> str | None:
    if not s.runtime_backed:
        return None
    a, p = s.authority, s.row
    if a is None or p is None:
        return None
    known = len(p.rewrites)
    head = [c.digest for c in a.rewrites[:known]]
    if known > len(a.rewrites) or head != [c.digest for c in p.rewrites]:
        return f"{s.id}: projection rewrite history diverges from the authority"
    ref = _reference(a, known)
    if ref is None:
        return f"{s.id}: authority history is broken"
    n = len(p.messages)
    if n > len(ref) or not same_messages(p.messages, ref[:n]):
        return f"{s.id}: projection messages diverge from the authority ({n} vs {len(ref)})"
    return None


@register("acknowledged_durable")
def acknowledged_durable(ctx: CheckContext) -> str | None:
    """An acknowledged (ok) operation is durable in every later state, across crashes."""
    state = ctx.latest
    for op in ctx.done_before(state):
        if op.type != "ok" or op.session not in state.sessions:
            continue
        s = state.sessions[op.session]
        if op.op == "create" and s.authority is None:
            return f"{s.id}: acknowledged create is not durable"
        if op.op == "turn" and op.input_id not in s.authority_turn_set:
            return f"{s.id}: acknowledged turn {op.input_id} is not durable"
        if op.done is not None and s.runtime_backed:
            have = s.receipt_jsons
            for receipt in op.done.receipts:
                if receipt not in have:
                    return f"{s.id}: receipt {receipt.get('run_id')} of an ok op is not durable"
    return None


@register("definite_failure_no_effect")
def definite_failure_no_effect(ctx: CheckContext) -> str | None:
    """A turn that failed definitely leaves no trace: not in the authority, the projection or
    any terminal receipt, now or later (recovery must not redeliver it)."""
    state = ctx.latest
    done = ctx.done_before(state)
    for op in done:
        if op.type != "fail" or op.op not in TURN_OPS or op.session not in state.sessions:
            continue
        s, iid = state.sessions[op.session], op.input_id
        terminal = [r for r in s.receipts if r.kind == "terminal" and iid in r.input_ids]
        if _retried(op, done):
            # a later attempt with the same input id may commit it, in a run of its own
            run = None if op.done is None else op.done.value.get("run")
            if run is not None and any(r.run_id == run for r in terminal):
                return f"{s.id}: failed turn {iid} committed by its own run {run}"
            continue
        if iid in s.authority_turn_set or iid in s.projection_turn_set:
            return f"{s.id}: turn {iid} reported {op.outcome or 'failed'} but took effect"
        if terminal:
            return f"{s.id}: failed turn {iid} has a terminal receipt"
    return _rewrite_took_effect(ctx)


REWRITE_OPS = frozenset({"compact", "refresh"})


def _rewrite_took_effect(ctx: CheckContext) -> str | None:
    """A compact / refresh that failed definitely left the document as it was: compared in
    the first state after it with the last one before it, when nothing else ran between."""
    prev = ctx.previous()
    if prev is None:
        return None
    for op in ctx.ops:
        if op.type != "fail" or op.op not in REWRITE_OPS or op.done is None:
            continue
        if prev.events > op.invoke.index or not _first_state_after(ctx, op):
            continue
        s, before = ctx.latest.sessions.get(op.session or ""), prev.sessions.get(op.session or "")
        if s is None or before is None or _others_between(ctx, op, prev.events):
            continue
        if _rewrote(op, _document(before), _document(s)):
            return f"{s.id}: {op.op} reported {op.outcome or 'failed'} but took effect"
    return None


def _document(s: SessionState) -> Session | None:
    """The session's authority (the row, for a runtime-less session)."""
    return s.authority if s.runtime_backed else s.row


def _rewrote(op: Operation, before: Session | None, after: Session | None) -> bool:
    """``after`` holds the effect of ``op`` that ``before`` lacks: one more rewrite commit
    (compact), or the refreshed system text (refresh). Other changes (a rollback of an
    earlier unaudited rewrite, I6) are not this operation's."""
    if before is None or after is None:
        return False
    if op.op == "refresh":
        text = op.invoke.value.get("text")
        return _system_text(after) == text != _system_text(before)
    return len(after.rewrites) > len(before.rewrites)


def _system_text(doc: Session) -> str | None:
    return doc.messages[0].content if doc.messages else None


def _retried(failed: Operation, done: list[Operation]) -> bool:
    """A turn with the same session and input id invoked after ``failed`` completed (a
    client retry with the same idempotency key) that did not fail definitely itself."""
    end = -1 if failed.done is None else failed.done.index
    return any(
        op.op in TURN_OPS
        and op.type != "fail"
        and op.session == failed.session
        and op.input_id == failed.input_id
        and op.invoke.index > end
        for op in done
    )


LEASE_OPS = frozenset({"turn", "compact", "refresh"})
"""Operations that take the session's run lease."""


@register("failure_releases_lease", phases=frozenset({"step"}))
def failure_releases_lease(ctx: CheckContext) -> str | None:
    """A turn or rewrite that failed definitely leaves no run lease it did not find: in the
    first state after it, the session's lease is the one held before it started (bug-49)."""
    state, prev = ctx.latest, ctx.previous()
    if prev is None:
        return None
    for op in ctx.ops:
        if op.type != "fail" or op.op not in LEASE_OPS or op.done is None:
            continue
        if "SessionBusy" in (op.done.value.get("error"), op.done.value.get("cause")):
            continue  # refused by another holder's lease: not this operation's
        if prev.events > op.invoke.index or not _first_state_after(ctx, op):
            continue
        s, before = state.sessions.get(op.session or ""), prev.sessions.get(op.session or "")
        if s is None or before is None or _others_between(ctx, op, prev.events):
            continue
        if s.active_run is not None and s.active_run != before.active_run:
            return f"{s.id}: {op.op} failed definitely but left run lease {s.active_run}"
    return None


@register("indeterminate_names_its_input")
def indeterminate_names_its_input(ctx: CheckContext) -> str | None:
    """An ``Indeterminate`` turn names its input id (what a resend must repeat to get the
    original outcome); any other operation's names none."""
    return ctx.over_history(_pending_misnamed)


def _pending_misnamed(ctx: CheckContext) -> str | None:
    for op in ctx.ops:
        done = op.done
        if done is None or done.value.get("outcome") != "Indeterminate":
            continue
        wanted = op.input_id if op.op in TURN_OPS else None
        if done.value.get("pending") != wanted:
            return f"{op.session}: {op.op} indeterminate for input {done.value.get('pending')!r}"
    return None


@register("indeterminate_names_its_run", phases=frozenset({"step"}))
def indeterminate_names_its_run(ctx: CheckContext) -> str | None:
    """An ``Indeterminate`` turn that wrote receipts of its input (an in-run checkpoint, a
    commit whose sync failed) names their run, in the first state after it: the core knew the
    run once it had written under it. One that wrote none may name none (a failed accept or
    ``begin_run`` cannot know its run)."""
    state, prev = ctx.latest, ctx.previous()
    if prev is None:
        return None
    for op in ctx.ops:
        if op.op not in TURN_OPS or op.outcome != "Indeterminate" or op.done is None:
            continue
        if prev.events > op.invoke.index or not _first_state_after(ctx, op):
            continue
        s, before = state.sessions.get(op.session or ""), prev.sessions.get(op.session or "")
        if s is None or before is None or _others_between(ctx, op, prev.events):
            continue
        old = set(before.receipts)
        runs = {r.run_id for r in s.receipts if r not in old and op.input_id in r.input_ids}
        named = op.done.value.get("run")
        if runs and named not in runs:
            return (
                f"{s.id}: turn {op.input_id} indeterminate naming run {named!r}, but it wrote"
                f" receipts of run {', '.join(sorted(runs))}"
            )
    return None


def _others_between(ctx: CheckContext, failed: Operation, since: int) -> bool:
    """Another operation of the same session ran between ``since`` and the latest state."""
    return any(
        op is not failed and op.session == failed.session and op.invoke.index >= since
        for op in ctx.ops
        if op.invoke.index < ctx.latest.events
    )


@register("outcome_names_its_session", phases=END)
def outcome_names_its_session(ctx: CheckContext) -> str | None:
    """Every outcome, and the typed error it carries as its cause, names the session of the
    operation it answers (typed errors name their session; a cause that is not a typed error
    names none)."""
    return ctx.over_history(_wrong_session)


def _wrong_session(ctx: CheckContext) -> str | None:
    for op in ctx.ops:
        done = op.done
        if done is not None and "of" in done.value and done.value["of"] != op.session:
            return f"{op.session}: {op.op} answered with an outcome of {done.value['of']!r}"
        if done is not None and "cause_of" in done.value and done.value["cause_of"] != op.session:
            return f"{op.session}: {op.op} outcome's cause names {done.value['cause_of']!r}"
    return None


@register("create_outcome_honest")
def create_outcome_honest(ctx: CheckContext) -> str | None:
    """A create refused with ``SessionExists`` follows an earlier create of that session: a
    new session is never refused as existing."""
    tried: set[str] = set()
    for op in ctx.done_before(ctx.latest):
        if op.op != "create" or op.session is None or op.done is None:
            continue
        exists = op.type == "fail" and op.done.value.get("error") == "SessionExists"
        if exists and op.session not in tried:
            return f"{op.session}: first create refused with SessionExists"
        tried.add(op.session)
    return None


@register("indeterminate_resolves_once")
def indeterminate_resolves_once(ctx: CheckContext) -> str | None:
    """Once a turn is seen committed it stays committed; after recovery every indeterminate
    (info) turn is resolved exactly once: committed at most once, its input no longer pending."""
    state = ctx.latest
    earlier = ctx.previous()
    if earlier is not None:
        for sid, old in earlier.sessions.items():
            now = state.sessions.get(sid)
            if now is None or now is old:
                continue
            lost = old.authority_turn_set - now.authority_turn_set
            if lost:
                return f"{sid}: committed turns {sorted(lost)} disappeared from the authority"
    if state.phase not in ("final", "idempotent"):
        return None
    for op in ctx.ops:
        if op.type != "info" or op.op not in TURN_OPS or op.session not in state.sessions:
            continue
        s = state.sessions[op.session]
        if s.authority_turns.count(op.input_id or "") > 1:
            return f"{s.id}: indeterminate turn {op.input_id} resolved more than once"
        pending = [i for i in s.inputs if i.input_id == op.input_id and i.state == "accepted"]
        if pending:
            return f"{s.id}: indeterminate turn {op.input_id} never resolved (still accepted)"
    return None


def _segments(messages: tuple[Message, ...]) -> Iterable[list[Message]]:
    current: list[Message] | None = None
    for message in messages:
        if message.role == "user":
            if current is not None:
                yield current
            current = [message]
        elif current is not None:
            current.append(message)
    if current is not None:
        yield current


def _partial_turn(doc: Session) -> str | None:
    for segment in _segments(doc.messages):
        last = segment[-1]
        if last.role != "assistant" or last.tool_calls:
            return f"turn {segment[0].id} is partial (ends with {last.role})"
        calls = {c.id for m in segment for c in m.tool_calls}
        results = {m.tool_call_id for m in segment if m.role == "tool"}
        if calls - results:
            return f"turn {segment[0].id} has tool calls without results"
    return None


@register("turns_atomic")
def turns_atomic(ctx: CheckContext) -> str | None:
    """Turns are all or nothing: no partial turn and no message of an uncommitted run is
    visible in either store."""
    return _each(ctx.latest, _not_atomic)


def _not_atomic(s: SessionState) -> str | None:
    terminal = {r.run_id for r in s.receipts if r.kind == "terminal"}
    for name, doc in (("authority", s.authority), ("projection", s.row)):
        if doc is None:
            continue
        partial = _partial_turn(doc)
        if partial is not None:
            return f"{s.id}: {name} {partial}"
        if not s.runtime_backed:
            continue
        for message in doc.messages:
            run = message.id.split(".", 1)[0]
            if message.role != "user" and run.startswith("run-") and run not in terminal:
                return f"{s.id}: {name} shows message {message.id} of uncommitted {run}"
    return None


@register("receipts_dense_unique")
def receipts_dense_unique(ctx: CheckContext) -> str | None:
    """Receipts per run are checkpoints 1..k then terminal k+1, never reused (also across
    restarts), and the last terminal receipt's facts match the committed bytes."""
    message = _each(ctx.latest, _receipts_wrong)
    if message is not None:
        return message
    return ctx.over_history(_run_reused)


def _run_reused(ctx: CheckContext) -> str | None:
    """Two acknowledged operations naming one run: a reused run id, unless both are turns of
    the same input (a retry returns the original outcome, run included)."""
    runs: dict[tuple[str | None, object], set[object]] = {}
    for op in ctx.ops:
        if op.type == "ok" and op.done is not None and op.done.value.get("run") is not None:
            key = (op.session, op.done.value.get("run"))
            same = op.input_id if op.op in TURN_OPS and op.input_id else op.invoke.index
            runs.setdefault(key, set()).add(same)
    reused = [key for key, ops in runs.items() if len(ops) > 1]
    if reused:
        return f"run id reused by two acknowledged operations: {reused[0]}"
    return None


def _receipts_wrong(s: SessionState) -> str | None:
    if not s.runtime_backed:
        return None
    message = _receipt_problem(s)
    return None if message is None else f"{s.id}: {message}"


def _receipt_problem(s: SessionState) -> str | None:
    by_run: dict[str, list[tuple[int, str]]] = {}
    for r in s.receipts:
        by_run.setdefault(r.run_id, []).append((r.sequence, r.kind))
    for run, entries in by_run.items():
        sequences = [seq for seq, _ in entries]
        if sequences != list(range(1, len(entries) + 1)):
            return f"receipts of {run} are not dense and unique: {sequences}"
        kinds = [kind for _, kind in entries]
        if "terminal" in kinds and kinds.index("terminal") != len(kinds) - 1:
            return f"terminal receipt of {run} is not the last one"
    terminals = [r for r in s.receipts if r.kind == "terminal"]
    if terminals and s.authority is not None:
        last = terminals[-1]
        a = s.authority
        if last.digest != a.revision or last.message_count != len(a.messages):
            return f"last terminal receipt {last.run_id} does not match the committed snapshot"
    return None


@register("sessions_isolated")
def sessions_isolated(ctx: CheckContext) -> str | None:
    """A session's documents hold only that session's own inputs; no unknown sessions appear."""
    state = ctx.latest
    submitted = ctx.over_history(_submitted)
    for s in state.sessions.values():
        for name, doc, ids in _documents(s):
            if doc is None:
                continue
            if doc.id != s.id:
                return f"{s.id}: {name} holds the document of {doc.id}"
            foreign = ids - submitted.get(s.id, set())
            if foreign:
                return f"{s.id}: {name} holds inputs never submitted to it: {sorted(foreign)}"
    if state.extra_ids:
        return f"unknown sessions appeared in the stores: {list(state.extra_ids)}"
    return None


def _submitted(ctx: CheckContext) -> dict[str, set[str]]:
    """The input ids submitted to each session (read-only)."""
    submitted: dict[str, set[str]] = {}
    for op in ctx.ops:
        if op.op in TURN_OPS and op.session is not None and op.input_id is not None:
            submitted.setdefault(op.session, set()).add(op.input_id)
    return submitted


def _documents(s: SessionState) -> Sequence[tuple[str, Session | None, frozenset[str]]]:
    """Both documents of a session with the input ids each holds."""
    return (
        ("authority", s.authority, s.authority_turn_set),
        ("projection", s.row, s.projection_turn_set),
    )


@register("reads_monotonic")
def reads_monotonic(ctx: CheckContext) -> str | None:
    """Projection reads never go backwards unless the read reports lag."""
    message = ctx.over_history(_read_went_back)
    if message is not None:
        return message
    prev = ctx.previous()
    if prev is None:
        return None
    for sid, now in ctx.latest.sessions.items():
        old = prev.sessions.get(sid)
        if old is None or old is now or now.row is None:
            continue
        if not old.projection_turn_set <= now.projection_turn_set and now.lag <= 0:
            return f"{sid}: projection went backwards without lag"
    return None


def _read_went_back(ctx: CheckContext) -> str | None:
    last: dict[tuple[str, str | None], list[str]] = {}
    for op in ctx.ops:
        if op.op != "read" or op.type != "ok" or op.done is None:
            continue
        if op.invoke.value.get("source") != "projection" or op.done.value.get("planted"):
            continue
        turns = op.done.value.get("turns")
        lag = op.done.value.get("lag")
        if not isinstance(turns, list):
            continue
        key = (op.invoke.process, op.session)
        before = last.get(key, [])
        if not set(before) <= set(turns) and not (isinstance(lag, int) and lag > 0):
            return f"{op.session}: a read went backwards without reporting lag"
        last[key] = [str(t) for t in turns]
    return None


def _first_state_after(ctx: CheckContext, op: Operation) -> bool:
    prev = ctx.previous()
    done = op.done
    if done is None or done.index >= ctx.latest.events:
        return False
    return prev is None or done.index >= prev.events


def _completed_but_lagging(value: dict[str, object], s: SessionState) -> bool:
    a = s.authority
    if value.get("outcome") != "Completed" or a is None or a.revision != value.get("revision"):
        return False
    return s.row is None or s.row.revision != a.revision


@register("errors_not_swallowed")
def errors_not_swallowed(ctx: CheckContext) -> str | None:
    """No untyped error escapes (but the agent's own untyped error, ``agent_code``, which
    session_core must let through as it was); a ``Completed`` outcome is never returned while
    its projection is missing, and an ok archive really archived: failures are reported."""
    state = ctx.latest
    for op in ctx.ops:
        done = op.done
        if done is None:
            continue
        if done.value.get("untyped") and not done.value.get("agent_code"):
            return f"{op.op} raised an untyped {done.value.get('error')}"
        if not _first_state_after(ctx, op) or op.session not in state.sessions:
            continue
        s = state.sessions[op.session]
        if _completed_but_lagging(done.value, s):
            return f"{s.id}: {op.op} returned Completed but the projection lags"
        if op.op == "archive" and op.type == "ok":
            if s.row is not None and not s.row.archived:
                return f"{s.id}: archive returned ok but the document is Active"
            if s.runtime_backed and s.runtime_state not in (None, "retired"):
                return f"{s.id}: archive returned ok but the runtime is not retired"
    return None


@register("unaudited_never_served")
def unaudited_never_served(ctx: CheckContext) -> str | None:
    """A read never serves a projection row that carries an unaudited rewrite (I6): it is
    refused until the audit is completed or the row rolled back / rebuilt."""
    state = ctx.latest
    for op in ctx.ops:
        done = op.done
        if op.op != "read" or op.type != "ok" or done is None or op.session not in state.sessions:
            continue
        s = state.sessions[op.session]
        from_row = not s.runtime_backed or op.invoke.value.get("source") == "projection"
        if not from_row or not _first_state_after(ctx, op) or s.row is None:
            continue
        if s.unaudited and done.value.get("revision") == s.row.revision:
            return f"{s.id}: a read served a row with an unaudited rewrite"
    return None


@register("archived_absorbing")
def archived_absorbing(ctx: CheckContext) -> str | None:
    """Archived is absorbing: retired implies an Archived document, an Archived document
    never turns Active again, and nothing is acknowledged on a session after its archive."""
    state = ctx.latest
    for s in state.sessions.values():
        if s.runtime_state == "retired" and s.row is not None and not s.row.archived:
            return f"{s.id}: runtime retired while the document is Active"
    prev = ctx.previous()
    if prev is not None:
        for sid, old in prev.sessions.items():
            now = state.sessions.get(sid)
            if now is None or now is old:
                continue
            was, now_row = old.row, now.row
            if was is not None and was.archived and now_row is not None and not now_row.archived:
                return f"{sid}: Archived document became Active again"
            if old.runtime_state == "retired" and now.runtime_state not in ("retired", None):
                return f"{sid}: retired runtime revived"
    return ctx.over_history(_acknowledged_after_archive)


def _acknowledged_after_archive(ctx: CheckContext) -> str | None:
    archived: set[str] = set()
    for op in ctx.ops:
        if op.session is None or op.done is None:
            continue
        if op.op == "archive" and op.type == "ok":
            archived.add(op.session)
        elif op.session in archived and op.type == "ok" and _revives(op):
            return f"{op.session}: {op.op} acknowledged after archive"
    return None


def _revives(op: Operation) -> bool:
    if op.op == "turn":
        return True
    value = {} if op.done is None else op.done.value
    return op.op == "late_checkpoint" and value.get("lifecycle") != "archived"


GATE_RESETS = frozenset({"restart", "crash", "recover", "corrupt"})
"""Operations after which a cancelled gate no longer binds: a new process (new gates),
recovery (it reconciles under the gate lock whatever the gate says), or the harness itself
damaging files."""
SESSION_GATE_RESETS = frozenset({"archive", "create", "corrupt_row", "plant_row"})
"""Per-session writes that do not go through the gate: archive writes the Archived document
itself, a runtime-less create writes the first row (its authority), the harness damages a
row."""


@register("no_write_after_cancel", phases=frozenset({"step"}))
def no_write_after_cancel(ctx: CheckContext) -> str | None:
    """Once a cancel of a session's checkpointer gate completed, nothing writes that session's
    projection row through the gate (I7): the row stays as the cancel left it until the
    session is archived (archive writes the Archived document itself) or recovered, or the
    process restarts. An archive that failed counts as a cancel: it cancelled the gate first."""
    for sid, revision in ctx.over_history(_cancelled_rows).items():
        s = ctx.latest.sessions.get(sid)
        if s is None:
            continue
        now = None if s.row is None else s.row.revision
        if now != revision:
            return f"{sid}: projection row written after its gate was cancelled"
    return None


def _archive_left_gate_cancelled(op: Operation) -> bool:
    """An archive cancels the gate first; one that then failed (not by a crash) leaves it
    cancelled in this process (its completion records the row it left as ``row``)."""
    done = op.done
    return op.op == "archive" and op.type != "ok" and done is not None and "row" in done.value


def _cancelled_rows(ctx: CheckContext) -> dict[str, object]:
    """Sessions whose gate is cancelled now, with the row revision the cancel saw."""
    marks: list[tuple[int, str | None, object, bool]] = []
    for op in ctx.ops:
        done = op.done
        if op.op == "cancel" and op.type == "ok" and done is not None:
            marks.append((done.index, op.session, done.value.get("row"), True))
        elif op.op in GATE_RESETS:
            marks.append((op.invoke.index, None, None, False))
        elif op.op in SESSION_GATE_RESETS:
            marks.append((op.invoke.index, op.session, None, False))
            if done is not None:
                marks.append((done.index, op.session, None, False))
            if _archive_left_gate_cancelled(op):
                assert done is not None
                marks.append((done.index, op.session, done.value.get("row"), True))
        if done is not None and done.value.get("error") == "SimulatedCrash":
            marks.append((done.index, None, None, False))
    closed: dict[str, object] = {}
    for _, sid, row, close in sorted(marks, key=lambda mark: mark[0]):
        if close and sid is not None:
            closed[sid] = row
        elif sid is None:
            closed.clear()
        else:
            closed.pop(sid, None)
    return closed


@register("liveness_converged", phases=END)
def liveness_converged(ctx: CheckContext) -> str | None:
    """Once faults stop and recovery ran: projection == authority for every session, nothing
    pending, no lease held, every row audited."""
    return _each(ctx.latest, _not_converged)


def _not_converged(s: SessionState) -> str | None:
    problem = _converged(s)
    return None if problem is None else f"{s.id}: {problem}"


def _converged(s: SessionState) -> str | None:
    if s.row_error is not None:
        return f"projection row unreadable ({s.row_error})"
    if s.unaudited:
        return "projection row carries an unaudited rewrite"
    if not s.runtime_backed:
        return None
    a, p = s.authority, s.row
    if a is None:
        return None if p is None else "projection row without an authority"
    if p is None:
        return "no projection row for a committed session"
    if p.revision != a.revision or [c.digest for c in p.rewrites] != [c.digest for c in a.rewrites]:
        return f"projection ({len(p.messages)} msgs) != authority ({len(a.messages)} msgs)"
    if p.archived != (s.runtime_state == "retired"):
        return f"lifecycle {p.lifecycle.value} but runtime {s.runtime_state}"
    if any(i.state == "accepted" for i in s.inputs):
        return "inputs still pending after recovery"
    if s.active_run is not None:
        return f"run lease {s.active_run} still held after recovery"
    return None


@register("recovery_idempotent", phases=frozenset({"idempotent"}))
def recovery_idempotent(ctx: CheckContext) -> str | None:
    """Running recovery again changes nothing."""
    prev = ctx.previous()
    if prev is None or _same_sessions(prev, ctx.latest):
        return None
    if prev.fingerprint()["sessions"] != ctx.latest.fingerprint()["sessions"]:
        changed = [
            sid
            for sid, s in ctx.latest.sessions.items()
            if sid not in prev.sessions or prev.sessions[sid].fingerprint() != s.fingerprint()
        ]
        return f"a second recovery changed {changed}"
    return None


def _same_sessions(a: WorldState, b: WorldState) -> bool:
    """The very same (interned) session states: equal fingerprints without computing them."""
    return a.sessions.keys() == b.sessions.keys() and all(
        s is b.sessions[sid] for sid, s in a.sessions.items()
    )


@register("turns_exactly_once")
def turns_exactly_once(ctx: CheckContext) -> str | None:
    """No turn appears twice (by input id or by its text) in either store."""
    return _each(ctx.latest, _duplicated)


def _duplicated(s: SessionState) -> str | None:
    for name, doc, _ in _documents(s):
        if doc is None:
            continue
        ids = Counter(doc.user_input_ids())
        texts = Counter(m.content for m in doc.messages if m.role == "user")
        dup = [k for k, n in (ids + texts).items() if n > 1]
        if dup:
            return f"{s.id}: {name} holds duplicated turn {dup[0]!r}"
    return None


@register("reader_sees_every_turn", phases=END)
def reader_sees_every_turn(ctx: CheckContext) -> str | None:
    """A consumer reading the projection after a Completed turn sees that turn (per-turn
    saves are visible to projection readers: the SDK / orchestrator view)."""
    completed: dict[str, list[tuple[int, str]]] = {}
    for op in ctx.ops:
        done = op.done
        if done is None or op.session is None:
            continue
        if op.op == "turn" and done.value.get("outcome") == "Completed" and op.input_id:
            completed.setdefault(op.session, []).append((done.index, op.input_id))
        if op.op == "read" and op.type == "ok" and op.invoke.value.get("source") == "projection":
            turns = done.value.get("turns")
            seen = set(turns) if isinstance(turns, list) else set()
            for index, iid in completed.get(op.session, []):
                if index < op.invoke.index and iid not in seen:
                    return f"{op.session}: reader did not see completed turn {iid}"
    return None


@register("bad_input_refused", phases=END)
def bad_input_refused(ctx: CheckContext) -> str | None:
    """A damaged or foreign file is refused with a typed error and left byte-for-byte as it
    was; an undecodable row is never served."""
    damaged: dict[str, object] = {}
    rows: set[str] = set()
    for op in ctx.ops:
        done = op.done
        if done is None:
            continue
        if op.op == "corrupt" and op.type == "ok":
            damaged[str(done.value.get("file"))] = done.value.get("digest")
        elif op.op == "corrupt_row" and op.session is not None:
            rows.add(op.session)
        elif op.op == "restart" and damaged:
            if op.type == "ok":
                return f"stores opened over a damaged file {sorted(damaged)}"
            if done.value.get("error") not in BAD_FILE_ERRORS:
                return f"damaged file refused with {done.value.get('error')}"
            digests = done.value.get("digests")
            for file, digest in damaged.items():
                if isinstance(digests, dict) and digests.get(file) != digest:
                    return f"damaged {file} file was modified"
        elif op.op == "read" and op.session in rows and op.type == "ok":
            return f"{op.session}: an undecodable row was served"
    return None


@register("foreign_snapshot_refused", phases=END)
def foreign_snapshot_refused(ctx: CheckContext) -> str | None:
    """A runtime snapshot holding another session's document (``plant_snapshot``) is refused:
    every recovery while it stands reports an error of that session, never projects it."""
    planted: set[str] = set()
    for op in ctx.ops:
        done = op.done
        if done is None:
            continue
        if op.op == "plant_snapshot" and op.type == "ok" and op.session is not None:
            planted.add(op.session)
        elif op.op == "recover" and op.type == "ok" and planted:
            errors = {str(e).split(":")[0] for e in _list(done.value.get("errors"))}
            if planted - errors:
                return f"{sorted(planted - errors)}: recovery adopted a foreign runtime snapshot"
    return None


@register("store_locks_held")
def store_locks_held(ctx: CheckContext) -> str | None:
    """While this process has a SQLite connection to a store file it holds SQLite's fcntl lock
    on it (bug-31, issue 13 F1): closing any other descriptor of the file drops every lock of
    the process, and another process may then checkpoint and delete the live WAL."""
    unlocked = ctx.latest.unlocked
    if unlocked:
        return f"no fcntl lock held on the open {', '.join(unlocked)} file(s)"
    return None


@register("fault_sites_named")
def fault_sites_named(ctx: CheckContext) -> str | None:
    """Every fault site session_core passes is a known site (``session_core.faults.SITES``)
    and names its session: exploration arms sites by name and session, so a renamed site or
    one passed without its session is never explored, silently."""
    if ctx.latest.misfired:
        return f"fault sites unknown or without a session: {list(ctx.latest.misfired)}"
    return None


@register("outcome_matches_commit", phases=END)
def outcome_matches_commit(ctx: CheckContext) -> str | None:
    """A completed turn reports what was committed: the run and revision of the terminal
    receipt that consumed its input, that receipt itself (runtime-backed), and the reply the
    committed transcript holds for it (while the turn is not compacted away)."""
    state = ctx.latest
    for op in ctx.ops:
        done = op.done
        if op.op not in TURN_OPS or op.type != "ok" or done is None:
            continue
        s = state.sessions.get(op.session or "")
        if s is None or op.input_id is None:
            continue
        problem = _outcome_problem(s, op.input_id, done.value) or _receipt_missing(
            s, op.input_id, done.receipts
        )
        if problem is not None:
            return f"{s.id}: turn {op.input_id} {problem}"
    return None


def _outcome_problem(s: SessionState, input_id: str, value: dict[str, object]) -> str | None:
    if not isinstance(value.get("revision"), str):
        return "answered without the revision it committed"
    if s.runtime_backed:
        receipt = next(
            (r for r in s.receipts if r.kind == "terminal" and input_id in r.input_ids), None
        )
        if receipt is None:
            return None  # not durable: acknowledged_durable reports it
        if value.get("run") != receipt.run_id or value.get("revision") != receipt.digest:
            return f"answered run {value.get('run')!r}, committed by {receipt.run_id!r}"
    doc = s.authority if s.runtime_backed else s.row
    reply = None if doc is None else _reply(doc, input_id)
    if reply is not None and "reply" in value and value["reply"] != reply:
        return f"answered {value['reply']!r}, the transcript holds {reply!r}"
    return None


REPLYLESS_OPS = frozenset({"create", "compact", "refresh"})


@register("replyless_ops_answer_empty")
def replyless_ops_answer_empty(ctx: CheckContext) -> str | None:
    """A completed create, compaction or system refresh runs no turn, so its outcome carries
    the empty reply (a string), never text nor ``None``."""
    for op in ctx.done_before(ctx.latest):
        done = op.done
        if op.op not in REPLYLESS_OPS or op.type != "ok" or done is None:
            continue
        if done.value.get("reply", "") != "":
            return f"{op.session}: {op.op} answered the reply {done.value.get('reply')!r}"
    return None


def _receipt_missing(
    s: SessionState, input_id: str, receipts: Sequence[dict[str, object]]
) -> str | None:
    """A completed runtime-backed turn hands back the terminal receipt that consumed it."""
    if not s.runtime_backed:
        return None
    terminal = (r for r in s.receipts if r.kind == "terminal" and input_id in r.input_ids)
    receipt = next(terminal, None)
    if receipt is None:
        return None  # not durable: acknowledged_durable reports it
    digests = {r.get("digest") for r in receipts if r.get("kind") == "terminal"}
    return None if receipt.digest in digests else "answered without its terminal receipt"


def _reply(doc: Session, input_id: str) -> str | None:
    """The last assistant message of the turn ``input_id`` in ``doc`` (None if absent)."""
    for segment in _segments(doc.messages):
        if segment[0].id == input_id:
            replies = [m.content for m in segment if m.role == "assistant"]
            return replies[-1] if replies else None
    return None


ROLES = frozenset({"system", "user", "assistant", "tool"})


@register("documents_well_formed")
def documents_well_formed(ctx: CheckContext) -> str | None:
    """Both stores hold well-formed transcripts: known roles only, the system message first
    (id ``system``), any other system message a compaction summary, and every rewrite named
    by what it did (``system-refresh`` replaced the system message, ``compaction`` put a
    summary in place of a range)."""
    return _each(ctx.latest, _malformed)


def _malformed(s: SessionState) -> str | None:
    for name, doc, _ in _documents(s):
        if doc is None:
            continue
        roles = {m.role for m in doc.messages}
        if not roles <= ROLES:
            return f"{s.id}: {name} holds messages with roles {sorted(roles - ROLES)}"
        first = doc.messages[0] if doc.messages else None
        if first is None or (first.role, first.id) != ("system", "system"):
            return f"{s.id}: {name} does not start with its system message"
        later = [m.id for m in doc.messages[1:] if m.role == "system"]
        if any(not i.startswith("summary-") for i in later):
            return f"{s.id}: {name} holds a second system message that is not a summary"
        misnamed = [c.reason for c in doc.rewrites if c.reason != _rewrite_kind(c)]
        if misnamed:
            return f"{s.id}: {name} holds rewrites named {misnamed} for what they did"
    return None


def _rewrite_kind(commit: RewriteCommit) -> str:
    """What a rewrite did, from its replacement: the system message, or a summary."""
    ids = [m.id for m in commit.replacement]
    if ids == ["system"]:
        return "system-refresh"
    if len(ids) == 1 and ids[0].startswith("summary-"):
        return "compaction"
    return f"an unknown rewrite of {ids}"


OUTCOME_NAMES = frozenset(
    {
        "Completed",
        "CompletedWithFinalizationFailure",
        "Failed",
        "Cancelled",
        "Indeterminate",
        "Abandoned",
    }
)


@register("recovery_report_honest")
def recovery_report_honest(ctx: CheckContext) -> str | None:
    """A recovery report tells what it did: each redelivered input with a known outcome name,
    each session's error naming that session, and a session marked ``projection_only``
    exactly when it has no runtime authority (every row of a runtime-less recovery)."""
    state = ctx.latest
    for op in ctx.ops:
        done = op.done
        if op.op != "recover" or op.type != "ok" or done is None:
            continue
        for item in _list(done.value.get("redelivered")):
            if isinstance(item, list) and len(item) == 3 and item[2] not in OUTCOME_NAMES:
                return f"recovery reported redelivering {item[1]} as {item[2]!r}"
        for pair in _list(done.value.get("error_of")):
            if isinstance(pair, list) and len(pair) == 2 and pair[0] != pair[1]:
                return f"{pair[0]}: recovery reported an error naming session {pair[1]!r}"
        if not _first_state_after(ctx, op):
            continue
        for report in _list(done.value.get("reports")):
            problem = _report_problem(report, state) if isinstance(report, dict) else None
            if problem is not None:
                return problem
    return None


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _report_problem(report: dict[str, object], state: WorldState) -> str | None:
    marked, unmarked = _list(report.get("projection_only")), _list(report.get("runtime_sessions"))
    if not report.get("runtime"):
        return (
            f"runtime-less recovery did not mark {unmarked} projection-only" if unmarked else None
        )
    for sid in marked + unmarked:
        s = state.sessions.get(str(sid))
        if s is None:
            continue
        if (sid in marked) != (s.runtime_state is None):
            return (
                f"{sid}: recovery marked projection_only={sid in marked}, runtime {s.runtime_state}"
            )
    return None


@register("failed_sync_not_definite")
def failed_sync_not_definite(ctx: CheckContext) -> str | None:
    """An operation whose store reported a failed sync (``StorageIndeterminate``: the write
    may be durable although the caller cannot see it), or one of whose writes was in a
    ``COMMIT`` the harness failed (``commit-error``: the completion is marked
    ``commit_failed``, whatever error the store reported), is never answered with a definite
    failure: ``Indeterminate`` until recovery or a resend resolves it (issue 13 F2)."""
    for op in ctx.done_before(ctx.latest):
        done = op.done
        if done is None or op.type != "fail":
            continue
        if "StorageIndeterminate" in (done.value.get("cause"), done.value.get("error")):
            return f"{op.session}: {op.op} answered {op.type} after a failed sync"
        if done.value.get("commit_failed"):
            return f"{op.session}: {op.op} answered {op.type} after its COMMIT failed"
    return None


@register("authority_read_current")
def authority_read_current(ctx: CheckContext) -> str | None:
    """A read of a runtime-backed session from the authority serves the committed snapshot
    (its revision, as captured right after the read), never the lagging projection row."""
    for op in ctx.ops:
        done = op.done
        if op.op != "read" or op.type != "ok" or done is None or not _first_state_after(ctx, op):
            continue
        if op.invoke.value.get("source") != "authority":
            continue
        s = ctx.latest.sessions.get(op.session or "")
        if s is None or not s.runtime_backed or s.authority is None:
            continue
        if done.value.get("revision") != s.authority.revision:
            return f"{s.id}: an authority read served revision {done.value.get('revision')!r}"
    return None


@register("create_keeps_system_prompt")
def create_keeps_system_prompt(ctx: CheckContext) -> str | None:
    """A session created with a system prompt starts with that prompt as its system message,
    one created without starts with the service's default prompt (checked in the capture
    right after the create)."""
    for op in ctx.ops:
        done = op.done
        if op.op != "create" or op.type != "ok" or done is None or not _first_state_after(ctx, op):
            continue
        given = op.invoke.value.get("system", op.invoke.value.get("default_system"))
        s = ctx.latest.sessions.get(op.session or "")
        if not isinstance(given, str) or s is None:
            continue
        doc = s.authority if s.runtime_backed else s.row
        if doc is not None and (not doc.messages or doc.messages[0].content != given):
            return f"{s.id}: created without its system prompt {given!r}"
    return None


@register("user_message_as_sent")
def user_message_as_sent(ctx: CheckContext) -> str | None:
    """The user message of a turn, in either store, holds the text the client sent with its
    input id (a resend or a redelivery runs the stored payload, never another text)."""
    sent = ctx.over_history(_sent_texts)
    for s in ctx.latest.sessions.values():
        texts = sent.get(s.id, {})
        for name, doc, _ in _documents(s):
            if doc is None:
                continue
            for m in doc.messages:
                if m.role == "user" and m.id in texts and m.content not in texts[m.id]:
                    return f"{s.id}: {name} holds {m.content!r} for input {m.id!r}"
    return None


def _sent_texts(ctx: CheckContext) -> dict[str, dict[str, set[str]]]:
    """The texts sent with each input id of each session (read-only)."""
    sent: dict[str, dict[str, set[str]]] = {}
    for op in ctx.ops:
        if op.op in TURN_OPS and op.session is not None and op.input_id is not None:
            text = op.invoke.value.get("text")
            if isinstance(text, str):
                sent.setdefault(op.session, {}).setdefault(op.input_id, set()).add(text)
    return sent


@register("per_turn_sync", phases=frozenset({"step"}), opt_in=True)
def per_turn_sync(ctx: CheckContext) -> str | None:
    """(opt-in, fault-free scenarios) after every step the projection equals the authority."""
    for s in _runtime(ctx.latest):
        if s.authority is None:
            continue
        if s.row is None or s.row.revision != s.authority.revision:
            return f"{s.id}: projection not saved for the committed state"
    return None


__all__ = [
    "ALWAYS",
    "CHECKERS",
    "END",
    "CheckContext",
    "Checker",
    "Violation",
    "check",
    "register",
]
