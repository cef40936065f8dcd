"""Actions: one function per scenario step kind. Each records an invoke and exactly one
completion (ok / fail / info) in the history; none of them checks anything."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from typing import Protocol

from harness.batches import BatchBarrier
from harness.history import Event, EventType
from harness.scenario import Step
from harness.world import PLAIN_MODEL, TOOL_MODEL, AgentCodeError, World, agent_steps
from session_core.codec import decode_session, derive_receipt
from session_core.errors import (
    CommitIndeterminate,
    ReceiptConflict,
    SessionCoreError,
    SimulatedCrash,
)
from session_core.lease import LeaseOwner
from session_core.model import Message, Receipt, RuntimeState, Session
from session_core.outcomes import (
    Cancelled,
    Completed,
    CompletedWithFinalizationFailure,
    Failed,
    Indeterminate,
    TurnOutcome,
)
from session_core.service import TurnOptions

Result = tuple[EventType, dict[str, object], tuple[dict[str, object], ...]]
Body = Callable[[], Result]
INDETERMINATE_ON_ERROR = frozenset(
    {"archive", "recover", "late_checkpoint", "quarantine", "stale_commit", "hold_lease"}
)
DEFINITE_ERRORS = frozenset(
    {
        "InvalidSessionId",
        "SessionNotFound",
        "SessionArchived",
        "SessionExists",
        "SessionBusy",
        "StoreClosed",
        "NoSuchStash",
    }
)
"""Errors raised before anything is written: a definite failure. Any other error escaping an
operation may come after a durable write, so it is indeterminate (Jepsen ``info``)."""


class NoSuchStash(SessionCoreError):
    """A step names a stash that was never taken (its session was never committed)."""


def classify(outcome: TurnOutcome) -> Result:
    """Map a session_core outcome onto a Jepsen completion (``of``: the session it names;
    ``cause_of``: the session its cause names; ``reply``: the text a completed turn returned)."""
    kind, value, receipts = _classify(outcome)
    extra: dict[str, object] = {"of": outcome.session_id}
    if hasattr(outcome, "cause"):  # Failed, Indeterminate, CompletedWithFinalizationFailure
        cause = outcome.cause
        extra["cause_of"] = cause.session_id if isinstance(cause, SessionCoreError) else None
    if hasattr(outcome, "text"):  # Completed, CompletedWithFinalizationFailure
        extra["reply"] = outcome.text
    return kind, {**value, **extra}, receipts


def _classify(outcome: TurnOutcome) -> Result:
    receipts = _receipts(getattr(outcome, "receipt", None))
    name = type(outcome).__name__
    if isinstance(outcome, Completed):
        return (
            "ok",
            {"outcome": name, "run": outcome.run_id, "revision": outcome.revision},
            receipts,
        )
    if isinstance(outcome, CompletedWithFinalizationFailure):
        value: dict[str, object] = {
            "outcome": name,
            "run": outcome.run_id,
            "revision": outcome.revision,
            "cause": type(outcome.cause).__name__,
        }
        return "ok", value, receipts
    if isinstance(outcome, Cancelled):
        return "fail", {"outcome": name, "run": outcome.run_id, "cause": "Cancelled"}, ()
    if isinstance(outcome, Indeterminate):
        cause = type(outcome.cause).__name__
        value = {"outcome": name, "run": outcome.run_id, "cause": cause}
        return "info", {**value, "pending": outcome.input_id}, ()
    assert isinstance(outcome, Failed)
    cause = type(outcome.cause).__name__
    kind: EventType = "info" if isinstance(outcome.cause, CommitIndeterminate) else "fail"
    return kind, {"outcome": name, "run": outcome.run_id, "cause": cause}, ()


def _receipts(receipt: Receipt | None) -> tuple[dict[str, object], ...]:
    return () if receipt is None else (receipt.to_json(),)


class Executor:
    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.Lock()
        steps = world.scenario.all_steps()
        self.numbers = {step.label: number for number, step in enumerate(steps, 1)}
        self.waiting: list[tuple[Event, str]] = []
        """Gate cancels waiting for a gate lock held by the operation in flight."""
        self.shutdowns = itertools.count(1)
        self.writers = itertools.count(1)
        world.faults.gate_cancel = self.cancel_from_outside
        world.faults.second_writer = self.write_from_outside

    # --- a cancel from another process (fault kind ``gate-cancel``) ---------------------------

    def cancel_from_outside(self, session_id: str, site: str) -> None:
        """A shutdown cancels ``session_id``'s gate while an operation is at ``site``. If the
        gate lock is free the cancel completes now; if the operation holds it, the cancel
        waits for its release (completed right after the operation), as a concurrent
        ``cancel`` would."""
        process = f"shutdown-{next(self.shutdowns)}"
        event = self.world.history.invoke(
            process, "cancel", session_id, {"site": site}, f"gate-cancel@{site}"
        )
        checkpointer = self.world.service(session_id).checkpointer
        if not _lock_free(checkpointer.gate(session_id).lock):
            self.waiting.append((event, session_id))
            return
        with self.world.faults.outside():
            checkpointer.cancel(session_id)
        if self.world.recovering:
            # Recovery reconciles under the gate lock whatever the gate says: the cancel
            # binds from the row the recovery leaves, so it completes when recovery ends.
            self.world.after_recovery.append(lambda: self._cancelled(event, session_id))
            return
        self._cancelled(event, session_id)

    def _cancelled(self, event: Event, session_id: str) -> None:
        if self.world.crashed:
            self.world.history.complete(event, "info", {"error": "SimulatedCrash"})
            return
        self.world.history.complete(event, "ok", {"row": self._row_revision(session_id)})

    def _finish_waiting(self) -> None:
        waiting, self.waiting = self.waiting, []
        for event, sid in waiting:
            if self.world.crashed:
                self.world.history.complete(event, "info", {"error": "SimulatedCrash"})
                continue
            with self.world.faults.outside():
                self.world.service(sid).checkpointer.cancel(sid)
            self.world.history.complete(event, "ok", {"row": self._row_revision(sid)})

    # --- a turn of another process (fault kind ``second-writer``) -----------------------------

    def write_from_outside(self, session_id: str, site: str) -> None:
        """A second writer: another process over the same files (its own stores, service,
        gates and leases; no faults) runs a plain turn of ``session_id``, its post-commit
        projection included, while this process's operation is at ``site``. So whatever this
        process read before the site (a row token, a revision) may be stale after it.
        Recorded as a ``turn`` of process ``writer-N``."""
        number = next(self.writers)
        input_id = f"{session_id}.w{number}"
        text = f"{session_id} says {input_id}"
        self.world.plans[text] = agent_steps(PLAIN_MODEL, text)
        history = self.world.history
        event = history.invoke(
            f"writer-{number}",
            "turn",
            session_id,
            {"input": input_id, "text": text},
            f"second-writer@{site}",
        )
        try:
            with self.world.faults.outside(), self.world.second_process(session_id) as svc:
                kind, result, receipts = classify(svc.run_turn(session_id, text, input_id=input_id))
        except SessionCoreError as exc:
            name = type(exc).__name__
            kind = "fail" if name in DEFINITE_ERRORS else "info"
            result, receipts = {"error": name}, ()
        history.complete(event, kind, result, receipts)

    def _row_revision(self, session_id: str) -> str | None:
        """The projection row's revision as the cancel left it (``no_write_after_cancel``); a
        row planted by the harness counts as none, as the checkers see it."""
        row = self.world.rows(session_id).load(session_id)
        if row is None or row == self.world.planted.get(session_id):
            return None
        return row.revision

    def perform(
        self,
        process: str,
        step: Step,
        op: str,
        value: dict[str, object],
        body: Body,
        on_error: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        """Run ``body`` and record its completion; ``on_error`` adds facts to the completion
        of an operation that raised a typed error (not a crash)."""
        history = self.world.history
        event = history.invoke(process, op, step.session, value, step.label)
        self.world.faults.take_commit_failed()  # marks of an earlier operation of this thread
        try:
            kind, result, receipts = body()
        except SimulatedCrash as exc:
            self.world.crashed = True
            kind, result, receipts = "info", {"error": "SimulatedCrash", "site": exc.site}, ()
        except SessionCoreError as exc:
            name = type(exc).__name__
            definite = name in DEFINITE_ERRORS and op not in INDETERMINATE_ON_ERROR
            kind = "fail" if definite else "info"
            result, receipts = {"error": name}, ()
            if on_error is not None:
                result.update(on_error())
        except Exception as exc:  # an untyped error escaping session_core is itself a finding
            kind, result, receipts = "info", {"error": type(exc).__name__, "untyped": True}, ()
            if isinstance(exc, AgentCodeError):
                result["agent_code"] = True  # the agent's own error, let through as it must
        if self.world.faults.take_commit_failed():
            result = {**result, "commit_failed": True}  # a COMMIT of its writes failed
        history.complete(event, kind, result, receipts)
        if self.waiting:
            self._finish_waiting()

    def _stash(self, name: str) -> bytes:
        data = self.world.stash.get(name)
        if data is None:
            raise NoSuchStash(f"no stash named {name!r}")
        return data

    # --- dispatch ----------------------------------------------------------------------------

    def run(self, step: Step, process: str = "p0") -> None:
        handler = getattr(self, f"do_{step.action}")
        handler(step, process)

    def do_create(self, step: Step, process: str) -> None:
        sid = _sid(step)
        system = step.arg("system")

        def body() -> Result:
            svc = self.world.service(sid)
            return classify(
                svc.create(sid, system_prompt=system if isinstance(system, str) else None)
            )

        given: dict[str, object] = (
            {"system": system}
            if isinstance(system, str)
            else {"default_system": self.world.service(sid).system_prompt}
        )
        self.perform(process, step, "create", given, body)

    def do_turn(self, step: Step, process: str, tools: bool = False) -> None:
        sid = _sid(step)
        given = step.arg("input")
        number = self.numbers.get(step.label)
        default = f"{sid}.{number}" if number is not None else self.world.next_input(sid)
        input_id = given if isinstance(given, str) else default
        given_text = step.arg("text")
        text = given_text if isinstance(given_text, str) else f"{sid} says {input_id}"
        model = step.model or (TOOL_MODEL if tools else PLAIN_MODEL)
        self.world.plans[text] = agent_steps(model, text)
        if any(m.raises for m in model):
            self.world.raising.add(text)
        refresh, compact = step.arg("refresh"), step.arg("compact")
        opts = TurnOptions(
            refresh_system=refresh if isinstance(refresh, str) else None,
            compact_keep_last=compact if isinstance(compact, int) else None,
        )

        def body() -> Result:
            svc = self.world.service(sid)
            return classify(svc.run_turn(sid, text, input_id=input_id, options=opts))

        self.perform(process, step, "turn", {"input": input_id, "text": text}, body)

    def do_tool_turn(self, step: Step, process: str) -> None:
        self.do_turn(step, process, tools=True)

    def do_compact(self, step: Step, process: str) -> None:
        sid = _sid(step)
        keep = step.arg("keep_last", 2)
        keep_last = keep if isinstance(keep, int) else 2
        self.perform(
            process,
            step,
            "compact",
            {"keep_last": keep_last},
            lambda: classify(self.world.service(sid).compact(sid, keep_last)),
        )

    def do_refresh(self, step: Step, process: str) -> None:
        sid = _sid(step)
        given = step.arg("text")
        text = given if isinstance(given, str) else f"system prompt {next(self.world.counter)}"
        self.perform(
            process,
            step,
            "refresh",
            {"text": text},
            lambda: classify(self.world.service(sid).refresh_system(sid, text)),
        )

    def do_cancel(self, step: Step, process: str) -> None:
        sid = _sid(step)

        def body() -> Result:
            self.world.service(sid).checkpointer.cancel(sid)
            return "ok", {"row": self._row_revision(sid)}, ()

        self.perform(process, step, "cancel", {}, body)

    def do_archive(self, step: Step, process: str) -> None:
        sid = _sid(step)

        def body() -> Result:
            self.world.service(sid).archive(sid)
            return "ok", {}, ()

        def left() -> dict[str, object]:
            """A failed archive leaves its gate cancelled: the row it left."""
            try:
                return {"row": self._row_revision(sid)}
            except SessionCoreError:
                return {}

        self.perform(process, step, "archive", {}, body, left)

    def do_read(self, step: Step, process: str) -> None:
        sid = _sid(step)
        source = step.arg("source", "projection")

        def body() -> Result:
            reader = self.world.service(sid).reader
            doc = reader.read_transcript(
                sid, "authority" if source == "authority" else "projection"
            )
            view = reader.view(sid)
            value: dict[str, object] = {
                "turns": doc.user_input_ids(),
                "revision": doc.revision,
                "lifecycle": doc.lifecycle.value,
                "lag": view.lag,
            }
            planted = self.world.planted.get(sid)
            if source != "authority" and planted is not None and doc == planted:
                value["planted"] = True  # the harness's damage served: the checkers skip it
            return "ok", value, ()

        self.perform(process, step, "read", {"source": source}, body)

    def do_stash(self, step: Step, process: str) -> None:
        sid, name = _sid(step), str(step.arg("as"))

        def body() -> Result:
            svc = self.world.service(sid)
            if svc.runtime is not None:
                data = svc.runtime.load_snapshot(sid)
            else:
                row = self.world.rows(sid).load_row(sid)
                data = None if row is None else row.data
            if data is None:
                return "fail", {"error": "NothingToStash"}, ()
            self.world.stash[name] = data
            return "ok", {"name": name}, ()

        self.perform(process, step, "stash", {"name": name}, body)

    def do_late_checkpoint(self, step: Step, process: str) -> None:
        sid, name = _sid(step), str(step.arg("stash"))

        def body() -> Result:
            stored = self.world.service(sid).post_commit(sid, self._stash(name))
            return "ok", {"revision": stored.revision, "lifecycle": stored.lifecycle.value}, ()

        self.perform(process, step, "late_checkpoint", {"stash": name}, body)

    def do_quarantine(self, step: Step, process: str) -> None:
        sid, name = _sid(step), str(step.arg("stash"))

        def body() -> Result:
            runtime = self.world.service(sid).runtime
            assert runtime is not None
            rejected = self._stash(name)
            if runtime.load_snapshot(sid) == rejected:
                # nothing newer landed: this step only tests byte-CAS against a newer commit
                return "ok", {"cleared": False, "skipped": True}, ()
            cleared = runtime.clear_snapshot_if_current(sid, rejected)
            return "ok", {"cleared": cleared}, ()

        self.perform(process, step, "quarantine", {"stash": name}, body)

    def do_stale_commit(self, step: Step, process: str) -> None:
        """A zombie run: ``stale`` takes the lease, the process gives it up (its owner records
        the run as ended, as after a failed release or a timeout) while the run lives on, a
        new run takes the lease over, then ``stale`` commits a terminal receipt. The lease is
        fenced: the commit must be refused (``ReceiptConflict``, a definite ``fail``); an
        accepted stale commit completes ``ok`` with ``fenced: false``."""
        sid = _sid(step)

        def body() -> Result:
            stores = self.world.stores
            if stores is None or not self.world.runtime_backed.get(sid, True):
                return "fail", {"error": "NoRuntime"}, ()
            runtime = stores.runtime
            owner = getattr(runtime, "owner", None)
            if not isinstance(owner, LeaseOwner):
                return "fail", {"error": "NoLeaseOwner"}, ()
            stale = runtime.begin_run(sid, ())
            owner.ended(sid, stale)
            fresh = runtime.begin_run(sid, ())
            snapshot = runtime.load_snapshot(sid)
            assert snapshot is not None
            receipt = derive_receipt(
                snapshot, session_id=sid, run_id=stale, sequence=1, kind="terminal", input_ids=()
            )
            try:
                runtime.atomic_apply(sid, snapshot, receipt, {})
            except ReceiptConflict:
                runtime.commit_lifecycle(sid, fresh, RuntimeState.IDLE, {})
                return "fail", {"error": "ReceiptConflict", "stale": stale, "run": fresh}, ()
            return "ok", {"stale": stale, "run": fresh, "fenced": False}, ()

        self.perform(process, step, "stale_commit", {}, body)

    def do_hold_lease(self, step: Step, process: str) -> None:
        """A live run of this process (a run of another thread, still going) takes the
        session's lease and never ends: turns and rewrites are refused as busy while it stands;
        recovery (the restart of the process) releases it."""
        sid = _sid(step)

        def body() -> Result:
            stores = self.world.stores
            if stores is None or not self.world.runtime_backed.get(sid, True):
                return "fail", {"error": "NoRuntime"}, ()
            return "ok", {"run": stores.runtime.begin_run(sid, ())}, ()

        self.perform(process, step, "hold_lease", {}, body)

    def do_corrupt(self, step: Step, process: str) -> None:
        file, how = str(step.arg("file")), str(step.arg("how"))

        def body() -> Result:
            self.world.close_stores()
            digest = self.world.backend.corrupt(file, how)
            return "ok", {"file": file, "how": how, "digest": digest}, ()

        self.perform("harness", step, "corrupt", {"file": file, "how": how}, body)

    def do_corrupt_row(self, step: Step, process: str) -> None:
        sid = _sid(step)

        def body() -> Result:
            self.world.backend.corrupt_row(sid)
            return "ok", {}, ()

        self.perform("harness", step, "corrupt_row", {}, body)

    def do_plant_row(self, step: Step, process: str) -> None:
        """Damage, as an older version with a pre-commit projection (bug 11) would leave it: the
        row gets a turn the authority never committed (``ahead``) or its last reply rewritten
        (``diverged``). Written through the observer (no faults): not an operation under
        test. Until something rewrites it, checkers see no row (``World.planted``)."""
        sid, shape = _sid(step), str(step.arg("shape", "ahead"))

        def body() -> Result:
            sessions = self.world.backend.observer().sessions
            row = sessions.load_row(sid)
            if row is None:
                return "fail", {"error": "NoRow"}, ()
            planted = planted_row(row.session, shape)
            if not sessions.save_if_current(planted, row.token):
                return "fail", {"error": "RowChanged"}, ()
            self.world.planted[sid] = planted
            return "ok", {"shape": shape}, ()

        self.perform("harness", step, "plant_row", {"shape": shape}, body)

    def do_plant_snapshot(self, step: Step, process: str) -> None:
        """Damage, as a botched restore would leave it: the session's committed runtime
        snapshot replaced by stashed bytes (another session's, say), behind the store's back
        (memory backend: no snapshot digest to refuse them). The operator restores the
        snapshot before the final recovery (``Backend.repair``); until then the checkers see
        the snapshot it replaced (``World.planted_snapshots``)."""
        sid, name = _sid(step), str(step.arg("stash"))

        def body() -> Result:
            data = self._stash(name)
            replaced = self.world.backend.plant_snapshot(sid, data)
            if replaced is None:
                return "fail", {"error": "NoSnapshot"}, ()
            original = self.world.planted_snapshots.get(sid, (None, decode_session(replaced)))[1]
            self.world.planted_snapshots[sid] = (decode_session(data), original)
            return "ok", {"stash": name}, ()

        self.perform("harness", step, "plant_snapshot", {"stash": name}, body)

    def do_crash(self, step: Step, process: str) -> None:
        def body() -> Result:
            self.world.crash()
            return "ok", {}, ()

        self.perform("harness", step, "crash", {}, body)

    def do_restart(self, step: Step, process: str) -> None:
        def body() -> Result:
            try:
                self.world.restart()
            except SessionCoreError as exc:
                digests = {f: self.world.backend.file_digest(f) for f in ("runtime", "sessions")}
                return "fail", {"error": type(exc).__name__, "digests": digests}, ()
            return "ok", {}, ()

        self.perform("harness", step, "restart", {}, body)

    def do_recover(self, step: Step, process: str) -> None:
        redeliver = step.arg("redeliver", True) is not False

        def body() -> Result:
            reports = self.world.recover(redeliver=redeliver)
            errors = sorted(
                f"{s.session_id}:{type(s.error).__name__}"
                for r in reports
                for s in r.errors
                if s.error is not None
            )
            named = [
                [s.session_id, s.error.session_id]
                for r in reports
                for s in r.errors
                if s.error is not None
            ]
            redelivered = [list(item) for r in reports for item in r.redelivered]
            kinds = sorted(set(self.world.runtime_backed.values()), reverse=True)  # as recover
            marks = [
                {
                    "runtime": runtime,
                    "projection_only": sorted(
                        s.session_id for s in r.sessions if s.projection_only
                    ),
                    "runtime_sessions": sorted(
                        s.session_id for s in r.sessions if not s.projection_only
                    ),
                }
                for runtime, r in zip(kinds, reports, strict=True)
            ]
            value = {
                "errors": errors,
                "error_of": named,
                "redelivered": redelivered,
                "reports": marks,
            }
            return "ok", value, ()

        self.perform("harness", step, "recover", {}, body)

    def do_concurrent(self, step: Step, process: str) -> None:
        if step.threads:
            self.world.faults.threaded = True
            count = len(step.processes)
            batching = self.world.backend.batching(
                self.world.faults, count, self.world.core.batch_runner
            )
            try:
                with (
                    batching if step.batch else nullcontext() as barrier,
                    ThreadPoolExecutor(max_workers=count) as pool,
                ):
                    futures = [
                        pool.submit(self._thread, barrier, steps, i)
                        for i, steps in enumerate(step.processes)
                    ]
                    for future in futures:
                        future.result()
            finally:
                self.world.faults.threaded = False
            return
        queues = [list(p) for p in step.processes]
        while any(queues):
            for index, queue in enumerate(queues):
                if queue and not self.world.crashed:
                    self.run(queue.pop(0), f"p{index + 1}")
                elif queue:
                    queue.clear()

    def _thread(self, barrier: object, steps: tuple[Step, ...], index: int) -> None:
        """One thread of a ``threads`` block; in a batched block its writes are parked at the
        barrier (``harness.batches``) until every thread is parked or done."""
        if not isinstance(barrier, BatchBarrier):
            self._process(steps, f"p{index + 1}")
            return
        barrier.enter(index)
        try:
            self._process(steps, f"p{index + 1}")
        finally:
            barrier.leave()

    def _process(self, steps: tuple[Step, ...], process: str) -> None:
        for sub in steps:
            if self.world.crashed:
                return
            self.run(sub, process)


class _Lock(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...


def _lock_free(lock: _Lock) -> bool:
    """Whether another thread could take ``lock`` now (probed from a helper thread, since the
    gate lock is reentrant for the thread that holds it)."""
    free: list[bool] = []

    def probe() -> None:
        got = lock.acquire(blocking=False)
        if got:
            lock.release()
        free.append(got)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return free[0]


def planted_row(row: Session, shape: str) -> Session:
    if shape == "diverged":
        last = row.messages[-1]
        changed = replace(last, content=f"{last.content} (rewritten elsewhere)")
        return replace(row, messages=(*row.messages[:-1], changed))
    extra = (
        Message("user", "a turn the authority never committed", id="planted-1"),
        Message("assistant", "planted reply", id="planted-1.reply"),
    )
    return replace(row, messages=(*row.messages, *extra))


def _sid(step: Step) -> str:
    assert step.session is not None
    return step.session


__all__ = ["DEFINITE_ERRORS", "Executor", "NoSuchStash", "classify"]
