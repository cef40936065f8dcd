"""The store conformance suite, importable by third parties to test their own backend.

Usage (in your test module)::

    import pytest
    from session_core.conformance import Backend, StoreConformance

    class MyBackend:                      # implements the Backend protocol
        name = "mine"
        def __init__(self, root): ...
        def open(self, faults=NO_FAULTS) -> Stores: ...   # same storage on every call

    class TestMyBackend(StoreConformance):
        @pytest.fixture
        def backend(self, tmp_path):
            return MyBackend(tmp_path)

``open`` must return stores over the *same* durable storage each time it is called: calling it
again after closing the previous stores models a process restart. Every test only uses the
public protocols (``RuntimeStore``, ``SessionStore``, ``AuditLog``), the fault sites
``<store>.<op>.before|after`` and the typed errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pytest

from session_core.codec import derive_receipt, encode_session
from session_core.errors import (
    AuditConflict,
    ContinuityViolation,
    HistoryError,
    InjectedStorageError,
    InputStateConflict,
    InvalidSessionId,
    MonotonicityViolation,
    ReceiptConflict,
    ReceiptMismatch,
    RevisionConflict,
    SessionArchived,
    SessionBusy,
    SessionExists,
    SessionNotFound,
    SimulatedCrash,
    SnapshotIdentityMismatch,
)
from session_core.factory import Stores, memory_stores, sqlite_stores
from session_core.faults import NO_FAULTS, FaultInjector, FaultPoint
from session_core.model import (
    InputState,
    Lifecycle,
    Message,
    Receipt,
    ReceiptKind,
    RuntimeState,
    Session,
    row_token,
)
from session_core.stores.base import AuditEvent
from session_core.stores.memory import MemoryDisk


class Backend(Protocol):
    name: str

    def open(self, faults: FaultPoint = NO_FAULTS) -> Stores: ...


class MemoryBackend:
    name = "memory"

    def __init__(self) -> None:
        self.disk = MemoryDisk()

    def open(self, faults: FaultPoint = NO_FAULTS) -> Stores:
        return memory_stores(self.disk, faults)


class SqliteBackend:
    def __init__(self, root: Path, *, shared_file: bool = False) -> None:
        self.root = root
        self.shared_file = shared_file
        self.name = "sqlite-shared" if shared_file else "sqlite"

    def open(self, faults: FaultPoint = NO_FAULTS) -> Stores:
        return sqlite_stores(self.root, faults, shared_file=self.shared_file)


BACKENDS = ("memory", "sqlite", "sqlite-shared")


def make_backend(name: str, root: Path) -> Backend:
    if name == "memory":
        return MemoryBackend()
    return SqliteBackend(root, shared_file=name == "sqlite-shared")


# --- helpers -------------------------------------------------------------------------------


def doc(sid: str, *texts: str, lifecycle: Lifecycle = Lifecycle.ACTIVE) -> Session:
    messages = [Message("system", "sys", id="system")]
    messages += [Message("user", t, id=f"u{i}") for i, t in enumerate(texts)]
    return Session(sid, tuple(messages), {}, lifecycle)


def receipt_for(
    snapshot: bytes, sid: str, run_id: str, seq: int, kind: ReceiptKind, inputs: Sequence[str]
) -> Receipt:
    return derive_receipt(
        snapshot, session_id=sid, run_id=run_id, sequence=seq, kind=kind, input_ids=inputs
    )


def commit_turn(stores: Stores, sid: str, text: str, input_id: str) -> bytes:
    """accept -> begin -> atomic_apply of the current snapshot plus one user message."""
    runtime = stores.runtime
    runtime.accept_input(sid, input_id, text)
    run_id = runtime.begin_run(sid, [input_id])
    current = runtime.load_snapshot(sid)
    assert current is not None
    from session_core.codec import decode_session

    live = decode_session(current).append(Message("user", text, id=input_id))
    snapshot = encode_session(live)
    receipt = receipt_for(snapshot, sid, run_id, 1, "terminal", [input_id])
    runtime.atomic_apply(sid, snapshot, receipt, {input_id: InputState.CONSUMED})
    return snapshot


class StoreConformance:
    """Subclass as ``TestXxx`` and provide a ``backend`` fixture."""

    @pytest.fixture
    def stores(self, backend: Backend) -> Iterator[Stores]:
        opened = backend.open()
        yield opened
        opened.close()

    # --- runtime: create / reads -----------------------------------------------------------

    def test_create_and_load(self, stores: Stores) -> None:
        snap = encode_session(doc("s1"))
        stores.runtime.create("s1", snap)
        assert stores.runtime.load_snapshot("s1") == snap
        assert stores.runtime.runtime_state("s1") is RuntimeState.IDLE
        assert stores.runtime.session_ids() == ["s1"]
        assert stores.runtime.receipts("s1") == []

    def test_create_twice_is_session_exists(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        with pytest.raises(SessionExists):
            stores.runtime.create("s1", encode_session(doc("s1", "x")))
        assert stores.runtime.load_snapshot("s1") == encode_session(doc("s1"))

    def test_errors_name_store_and_session(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        with pytest.raises(SessionExists) as info:
            stores.runtime.create("s1", encode_session(doc("s1")))
        assert info.value.session_id == "s1" and info.value.path == stores.runtime.location
        assert "s1" in str(info.value) and stores.runtime.location in str(info.value)
        stores.sessions.save(doc("s1", "a", "b"))
        with pytest.raises(MonotonicityViolation) as shrink:
            stores.sessions.save(doc("s1", "a"))
        assert shrink.value.session_id == "s1" and shrink.value.path == stores.sessions.location

    def test_create_with_other_sessions_bytes(self, stores: Stores) -> None:
        with pytest.raises(SnapshotIdentityMismatch):
            stores.runtime.create("s1", encode_session(doc("s2")))
        assert stores.runtime.session_ids() == []

    @pytest.mark.parametrize("bad", ["", "../x", "a/b", "a b"])
    def test_invalid_ids_rejected(self, stores: Stores, bad: str) -> None:
        with pytest.raises(InvalidSessionId):
            stores.runtime.create(bad, encode_session(doc("s1")))
        with pytest.raises(InvalidSessionId):
            stores.sessions.load(bad)

    def test_unknown_session(self, stores: Stores) -> None:
        assert stores.runtime.runtime_state("nope") is None
        with pytest.raises(SessionNotFound):
            stores.runtime.load_snapshot("nope")
        with pytest.raises(SessionNotFound):
            stores.runtime.accept_input("nope", "i1", "x")

    # --- runtime: inputs and runs ----------------------------------------------------------

    def test_accept_input_idempotent_and_conflict(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        stores.runtime.accept_input("s1", "i1", "hello")
        stores.runtime.accept_input("s1", "i1", "hello")
        with pytest.raises(InputStateConflict):
            stores.runtime.accept_input("s1", "i1", "other")
        stores.runtime.accept_input("s1", "i2", "again")
        records = stores.runtime.inputs("s1")
        assert [(r.input_id, r.state) for r in records] == [
            ("i1", InputState.ACCEPTED),
            ("i2", InputState.ACCEPTED),
        ]

    def test_begin_run_lease_and_ids(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        stores.runtime.accept_input("s1", "i1", "x")
        run = stores.runtime.begin_run("s1", ["i1"])
        assert stores.runtime.active_run("s1") == run
        assert stores.runtime.runtime_state("s1") is RuntimeState.RUNNING
        with pytest.raises(SessionBusy):
            stores.runtime.begin_run("s1", [])
        stores.runtime.commit_lifecycle("s1", run, RuntimeState.IDLE, {})
        assert stores.runtime.begin_run("s1", []) != run

    def test_begin_run_with_unknown_or_consumed_input(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        with pytest.raises(InputStateConflict):
            stores.runtime.begin_run("s1", ["ghost"])
        commit_turn(stores, "s1", "a", "i1")
        with pytest.raises(InputStateConflict):
            stores.runtime.begin_run("s1", ["i1"])
        assert stores.runtime.active_run("s1") is None

    def test_run_ids_never_reused_across_restart(self, backend: Backend) -> None:
        first = backend.open()
        first.runtime.create("s1", encode_session(doc("s1")))
        run1 = first.runtime.begin_run("s1", [])
        first.close()
        second = backend.open()
        second.runtime.commit_lifecycle("s1", run1, RuntimeState.IDLE, {})
        run2 = second.runtime.begin_run("s1", [])
        second.close()
        assert run1 != run2

    # --- runtime: receipts -----------------------------------------------------------------

    def _running(self, stores: Stores, inputs: Sequence[str] = ("i1",)) -> str:
        stores.runtime.create("s1", encode_session(doc("s1")))
        for i in inputs:
            stores.runtime.accept_input("s1", i, f"text {i}")
        return stores.runtime.begin_run("s1", list(inputs))

    def test_checkpoints_dense_and_provisional(self, stores: Stores) -> None:
        run = self._running(stores)
        tail1 = encode_session(doc("s1", "a"))
        tail2 = encode_session(doc("s1", "a", "b"))
        r1 = receipt_for(tail1, "s1", run, 1, "checkpoint", ["i1"])
        stores.runtime.record_checkpoint(r1, tail1)
        with pytest.raises(ReceiptConflict):  # reused sequence
            stores.runtime.record_checkpoint(r1, tail1)
        with pytest.raises(ReceiptConflict):  # gap
            stores.runtime.record_checkpoint(
                receipt_for(tail2, "s1", run, 3, "checkpoint", ["i1"]), tail2
            )
        r2 = receipt_for(tail2, "s1", run, 2, "checkpoint", ["i1"])
        stores.runtime.record_checkpoint(r2, tail2)
        assert stores.runtime.provisional("s1") == [(r1, tail1), (r2, tail2)]
        assert stores.runtime.load_snapshot("s1") == encode_session(doc("s1"))

    def test_checkpoint_requires_lease_and_matching_facts(self, stores: Stores) -> None:
        run = self._running(stores)
        tail = encode_session(doc("s1", "a"))
        with pytest.raises(ReceiptConflict):
            stores.runtime.record_checkpoint(
                receipt_for(tail, "s1", "run-99", 1, "checkpoint", []), tail
            )
        wrong = receipt_for(encode_session(doc("s1", "b", "c")), "s1", run, 1, "checkpoint", [])
        with pytest.raises(ReceiptMismatch):
            stores.runtime.record_checkpoint(wrong, tail)
        with pytest.raises(ReceiptConflict):  # terminal kind through the checkpoint path
            stores.runtime.record_checkpoint(receipt_for(tail, "s1", run, 1, "terminal", []), tail)
        assert stores.runtime.receipts("s1") == []

    def test_atomic_apply_commits_everything(self, stores: Stores) -> None:
        run = self._running(stores)
        tail = encode_session(doc("s1", "a"))
        stores.runtime.record_checkpoint(
            receipt_for(tail, "s1", run, 1, "checkpoint", ["i1"]), tail
        )
        snap = encode_session(doc("s1", "a", "b"))
        receipt = receipt_for(snap, "s1", run, 2, "terminal", ["i1"])
        stores.runtime.atomic_apply("s1", snap, receipt, {"i1": InputState.CONSUMED})
        assert stores.runtime.load_snapshot("s1") == snap
        assert stores.runtime.receipts("s1")[-1] == receipt
        assert stores.runtime.inputs("s1")[0].state is InputState.CONSUMED
        assert stores.runtime.active_run("s1") is None
        assert stores.runtime.runtime_state("s1") is RuntimeState.IDLE
        assert stores.runtime.provisional("s1") == []

    def _assert_untouched(self, stores: Stores, run: str) -> None:
        assert stores.runtime.load_snapshot("s1") == encode_session(doc("s1"))
        assert stores.runtime.receipts("s1") == []
        assert stores.runtime.inputs("s1")[0].state is InputState.ACCEPTED
        assert stores.runtime.active_run("s1") == run

    def test_atomic_apply_all_or_nothing_on_bad_input(self, stores: Stores) -> None:
        run = self._running(stores)
        snap = encode_session(doc("s1", "a"))
        receipt = receipt_for(snap, "s1", run, 1, "terminal", ["i1"])
        with pytest.raises(InputStateConflict):
            stores.runtime.atomic_apply(
                "s1", snap, receipt, {"i1": InputState.CONSUMED, "ghost": InputState.CONSUMED}
            )
        self._assert_untouched(stores, run)

    def test_atomic_apply_guards(self, stores: Stores) -> None:
        run = self._running(stores)
        snap = encode_session(doc("s1", "a"))
        other = encode_session(doc("s1", "zzz", "y"))
        updates = {"i1": InputState.CONSUMED}
        with pytest.raises(ReceiptMismatch):
            stores.runtime.atomic_apply(
                "s1", snap, receipt_for(other, "s1", run, 1, "terminal", []), updates
            )
        with pytest.raises(ReceiptConflict):  # not dense
            stores.runtime.atomic_apply(
                "s1", snap, receipt_for(snap, "s1", run, 2, "terminal", []), updates
            )
        with pytest.raises(ReceiptConflict):  # not the lease holder
            stores.runtime.atomic_apply(
                "s1", snap, receipt_for(snap, "s1", "run-7", 1, "terminal", []), updates
            )
        foreign = encode_session(doc("s2", "a"))
        with pytest.raises(SnapshotIdentityMismatch):
            stores.runtime.atomic_apply(
                "s1", foreign, receipt_for(foreign, "s2", run, 1, "terminal", []), updates
            )
        self._assert_untouched(stores, run)

    def test_input_never_consumed_twice(self, stores: Stores) -> None:
        stores.runtime.create("s1", encode_session(doc("s1")))
        commit_turn(stores, "s1", "a", "i1")
        run = stores.runtime.begin_run("s1", [])
        snap = encode_session(doc("s1", "a", "a"))
        with pytest.raises(InputStateConflict):
            stores.runtime.atomic_apply(
                "s1",
                snap,
                receipt_for(snap, "s1", run, 1, "terminal", ["i1"]),
                {"i1": InputState.CONSUMED},
            )
        assert len(stores.runtime.receipts("s1")) == 1

    def test_commit_lifecycle_no_snapshot_no_receipt(self, stores: Stores) -> None:
        run = self._running(stores)
        with pytest.raises(InputStateConflict):
            stores.runtime.commit_lifecycle("s1", "run-42", RuntimeState.IDLE, {})
        stores.runtime.commit_lifecycle("s1", run, RuntimeState.IDLE, {"i1": InputState.ABANDONED})
        assert stores.runtime.load_snapshot("s1") == encode_session(doc("s1"))
        assert stores.runtime.receipts("s1") == []
        assert stores.runtime.inputs("s1")[0].state is InputState.ABANDONED
        assert stores.runtime.active_run("s1") is None
        with pytest.raises(InputStateConflict):  # abandoned is final
            stores.runtime.commit_lifecycle("s1", None, None, {"i1": InputState.CONSUMED})

    def test_retire_is_absorbing(self, stores: Stores) -> None:
        run = self._running(stores)
        stores.runtime.retire("s1")
        stores.runtime.retire("s1")
        assert stores.runtime.runtime_state("s1") is RuntimeState.RETIRED
        snap = encode_session(doc("s1", "a"))
        with pytest.raises(SessionArchived):
            stores.runtime.atomic_apply(
                "s1", snap, receipt_for(snap, "s1", run, 1, "terminal", []), {}
            )
        with pytest.raises(SessionArchived):
            stores.runtime.begin_run("s1", [])
        with pytest.raises(SessionArchived):
            stores.runtime.accept_input("s1", "i9", "late")
        with pytest.raises(SessionArchived):
            stores.runtime.commit_lifecycle("s1", None, RuntimeState.IDLE, {})

    def test_snapshot_byte_cas(self, stores: Stores) -> None:
        old = encode_session(doc("s1"))
        stores.runtime.create("s1", old)
        newer = commit_turn(stores, "s1", "a", "i1")
        assert not stores.runtime.clear_snapshot_if_current("s1", old)
        assert not stores.runtime.replace_snapshot_if_current("s1", old, old)
        assert stores.runtime.load_snapshot("s1") == newer
        replacement = encode_session(doc("s1", "b"))
        assert stores.runtime.replace_snapshot_if_current("s1", newer, replacement)
        assert stores.runtime.load_snapshot("s1") == replacement
        with pytest.raises(SnapshotIdentityMismatch):
            stores.runtime.replace_snapshot_if_current("s1", replacement, encode_session(doc("x")))
        assert stores.runtime.clear_snapshot_if_current("s1", replacement)
        assert stores.runtime.load_snapshot("s1") is None

    def test_runtime_durable_across_restart(self, backend: Backend) -> None:
        first = backend.open()
        first.runtime.create("s1", encode_session(doc("s1")))
        snap = commit_turn(first, "s1", "a", "i1")
        first.close()
        second = backend.open()
        assert second.runtime.load_snapshot("s1") == snap
        assert [r.kind for r in second.runtime.receipts("s1")] == ["terminal"]
        assert second.runtime.inputs("s1")[0].state is InputState.CONSUMED
        second.close()

    # --- faults on durable operations ------------------------------------------------------

    def test_fault_before_commit_changes_nothing(self, backend: Backend) -> None:
        faults = FaultInjector()
        stores = backend.open(faults)
        run = self._running(stores)
        snap = encode_session(doc("s1", "a"))
        receipt = receipt_for(snap, "s1", run, 1, "terminal", ["i1"])
        faults.arm("runtime.atomic_apply.before", "error")
        with pytest.raises(InjectedStorageError):
            stores.runtime.atomic_apply("s1", snap, receipt, {"i1": InputState.CONSUMED})
        self._assert_untouched(stores, run)
        faults.arm("runtime.atomic_apply.before", "crash")
        with pytest.raises(SimulatedCrash):
            stores.runtime.atomic_apply("s1", snap, receipt, {"i1": InputState.CONSUMED})
        stores.close()
        restarted = backend.open()
        self._assert_untouched(restarted, run)
        restarted.close()

    def test_fault_after_commit_is_durable(self, backend: Backend) -> None:
        faults = FaultInjector()
        stores = backend.open(faults)
        run = self._running(stores)
        snap = encode_session(doc("s1", "a"))
        receipt = receipt_for(snap, "s1", run, 1, "terminal", ["i1"])
        faults.arm("runtime.atomic_apply.after", "crash")
        with pytest.raises(SimulatedCrash):
            stores.runtime.atomic_apply("s1", snap, receipt, {"i1": InputState.CONSUMED})
        stores.close()
        restarted = backend.open()
        assert restarted.runtime.load_snapshot("s1") == snap
        assert restarted.runtime.receipts("s1") == [receipt]
        restarted.close()

    def test_every_durable_operation_passes_its_fault_sites(self, backend: Backend) -> None:
        faults = FaultInjector()
        stores = backend.open(faults)
        stores.runtime.create("s1", encode_session(doc("s1")))
        commit_turn(stores, "s1", "a", "i1")
        run = stores.runtime.begin_run("s1", [])
        stores.runtime.commit_lifecycle("s1", run, RuntimeState.IDLE, {})
        stores.runtime.retire("s1")
        snap = stores.runtime.load_snapshot("s1")
        assert snap is not None
        stores.runtime.replace_snapshot_if_current("s1", snap, snap)
        stores.runtime.clear_snapshot_if_current("s1", snap)
        session = doc("s1")
        stores.sessions.save(session)
        stores.sessions.save_if_current(
            session.append(Message("user", "x")), row_token(encode_session(session))
        )
        row = stores.sessions.load_row("s1")
        assert row is not None
        child, commit = row.session.rewrite(1, 2, [Message("system", "sum")], "compaction")
        stores.sessions.save_rewrite(child, commit)
        stores.audit.append(AuditEvent.for_commit("s1", 0, commit))
        stores.sessions.delete_if_current("s1", row_token(encode_session(child)))
        hit = set(faults.sites_hit())
        for op in (
            "runtime.create", "runtime.accept_input", "runtime.begin_run",
            "runtime.atomic_apply", "runtime.commit_lifecycle", "runtime.retire",
            "runtime.replace_snapshot", "runtime.clear_snapshot", "sessions.save",
            "sessions.save_if_current", "sessions.save_rewrite", "audit.append",
            "sessions.delete_if_current",
        ):  # fmt: skip
            assert {f"{op}.before", f"{op}.after"} <= hit, op
        stores.close()

    # --- projection: accepted shapes -------------------------------------------------------

    def test_save_creates_and_tokens(self, stores: Stores) -> None:
        session = doc("s1", "a")
        stores.sessions.save(session)
        row = stores.sessions.load_row("s1")
        assert row is not None and row.session == session
        assert row.token == row_token(encode_session(session)) == row_token(row.data)
        [summary] = stores.sessions.list()
        assert (summary.session_id, summary.revision, summary.message_count) == (
            "s1",
            session.revision,
            2,
        )
        assert summary.token == row.token and summary.lifecycle is Lifecycle.ACTIVE

    def test_save_same_revision_and_append(self, stores: Stores) -> None:
        stores.sessions.save(doc("s1", "a"))
        meta = Session("s1", doc("s1", "a").messages, {"title": "t"})
        stores.sessions.save(meta)
        stores.sessions.save(meta.append(Message("assistant", "b")))
        loaded = stores.sessions.load("s1")
        assert loaded is not None and loaded.metadata == {"title": "t"}
        assert len(loaded.messages) == 3

    def test_save_transient_cleanup(self, stores: Stores) -> None:
        base = doc("s1", "a")
        notice = Message("system", "reconnecting", transient=True)
        stores.sessions.save(base.append(notice))
        stores.sessions.save(base.append(Message("assistant", "b")))
        loaded = stores.sessions.load("s1")
        assert loaded is not None and [m.content for m in loaded.messages][-1] == "b"

    def test_save_shorter_is_monotonicity_violation(self, stores: Stores) -> None:
        stores.sessions.save(doc("s1", "a", "b"))
        with pytest.raises(MonotonicityViolation):
            stores.sessions.save(doc("s1", "a"))
        assert stores.sessions.load("s1") == doc("s1", "a", "b")

    def test_save_divergent_is_continuity_violation(self, stores: Stores) -> None:
        stores.sessions.save(doc("s1", "a", "b"))
        with pytest.raises(ContinuityViolation):
            stores.sessions.save(doc("s1", "a", "X"))
        with pytest.raises(ContinuityViolation):
            stores.sessions.save(doc("s1", "X", "b", "c"))
        assert stores.sessions.load("s1") == doc("s1", "a", "b")

    def test_plain_save_cannot_rewrite_history(self, stores: Stores) -> None:
        base = doc("s1", "a", "b")
        stores.sessions.save(base)
        child, _ = base.rewrite(1, 3, [Message("system", "sum")], "compaction")
        with pytest.raises((ContinuityViolation, MonotonicityViolation)):
            stores.sessions.save(child)
        grown = Session("s1", (*base.messages, Message("user", "c")), {}, rewrites=child.rewrites)
        with pytest.raises((ContinuityViolation, HistoryError)):
            stores.sessions.save(grown)
        assert stores.sessions.load("s1") == base

    # --- projection: rewrites --------------------------------------------------------------

    def test_save_rewrite(self, stores: Stores) -> None:
        base = doc("s1", "a", "b")
        stores.sessions.save(base)
        child, commit = base.rewrite(1, 3, [Message("system", "sum")], "compaction")
        stores.sessions.save_rewrite(child, commit)
        assert stores.sessions.load("s1") == child
        grandchild, commit2 = child.rewrite(0, 1, [Message("system", "new")], "refresh")
        stores.sessions.save_rewrite(grandchild, commit2)
        loaded = stores.sessions.load("s1")
        assert loaded is not None and len(loaded.rewrites) == 2

    def test_save_rewrite_stale_parent(self, stores: Stores) -> None:
        base = doc("s1", "a")
        child, commit = base.rewrite(1, 2, [Message("system", "sum")], "compaction")
        with pytest.raises(RevisionConflict):  # no row yet
            stores.sessions.save_rewrite(child, commit)
        stores.sessions.save(base.append(Message("user", "newer")))
        with pytest.raises(RevisionConflict):
            stores.sessions.save_rewrite(child, commit)
        loaded = stores.sessions.load("s1")
        assert loaded is not None and len(loaded.messages) == 3

    def test_save_rewrite_must_retain_history(self, stores: Stores) -> None:
        base = doc("s1", "a", "b")
        stores.sessions.save(base)
        child, commit = base.rewrite(1, 2, [Message("system", "s1")], "compaction")
        stores.sessions.save_rewrite(child, commit)
        grandchild, commit2 = child.rewrite(1, 2, [Message("system", "s2")], "compaction")
        dropped = Session("s1", grandchild.messages, {}, rewrites=(commit2,))
        with pytest.raises((ContinuityViolation, HistoryError)):
            stores.sessions.save_rewrite(dropped, commit2)
        assert stores.sessions.load("s1") == child

    def test_forged_history_refused(self, stores: Stores) -> None:
        base = doc("s1", "a", "b")
        child, commit = base.rewrite(1, 2, [Message("system", "s")], "compaction")
        forged = type(commit)(**{**commit.__dict__, "replaced": (Message("user", "forged"),)})
        bad = Session("s1", child.messages, {}, rewrites=(forged,))
        with pytest.raises(HistoryError):
            stores.sessions.save(bad)
        with pytest.raises(HistoryError):
            stores.sessions.save_if_current(bad, None)
        assert stores.sessions.load("s1") is None

    # --- projection: CAS -------------------------------------------------------------------

    def test_save_if_current(self, stores: Stores) -> None:
        first = doc("s1", "a")
        assert stores.sessions.save_if_current(first, None)
        assert not stores.sessions.save_if_current(doc("s1", "b"), None)
        token = row_token(encode_session(first))
        assert not stores.sessions.save_if_current(doc("s1", "c"), "0" * 64)
        assert stores.sessions.load("s1") == first
        shorter = doc("s1")  # CAS writes are not shape-checked: callers prove continuity
        assert stores.sessions.save_if_current(shorter, token)
        assert stores.sessions.load("s1") == shorter

    def test_delete_if_current(self, stores: Stores) -> None:
        session = doc("s1", "a")
        stores.sessions.save(session)
        assert not stores.sessions.delete_if_current("s1", "0" * 64)
        assert stores.sessions.load("s1") == session
        assert stores.sessions.delete_if_current("s1", row_token(encode_session(session)))
        assert stores.sessions.load("s1") is None
        assert not stores.sessions.delete_if_current("s1", row_token(encode_session(session)))

    # --- projection: archived is absorbing -------------------------------------------------

    def test_archived_row_is_absorbing(self, stores: Stores) -> None:
        archived = doc("s1", "a", lifecycle=Lifecycle.ARCHIVED)
        stores.sessions.save(doc("s1", "a"))
        stores.sessions.save(archived)
        with pytest.raises(SessionArchived):
            stores.sessions.save(doc("s1", "a", "b"))
        with pytest.raises(SessionArchived):
            stores.sessions.save_if_current(doc("s1", "a"), row_token(encode_session(archived)))
        child, commit = doc("s1", "a").rewrite(1, 2, [Message("system", "s")], "compaction")
        with pytest.raises(SessionArchived):
            stores.sessions.save_rewrite(child, commit)
        stores.sessions.save(doc("s1", "a", "late", lifecycle=Lifecycle.ARCHIVED))
        loaded = stores.sessions.load("s1")
        assert loaded is not None and loaded.archived and len(loaded.messages) == 3

    # --- audit -----------------------------------------------------------------------------

    def test_audit_append_idempotent_and_conflict(self, stores: Stores) -> None:
        base = doc("s1", "a")
        _, commit = base.rewrite(1, 2, [Message("system", "s")], "compaction")
        _, other = base.rewrite(0, 1, [Message("system", "t")], "refresh")
        event = AuditEvent.for_commit("s1", 0, commit)
        stores.audit.append(event)
        stores.audit.append(event)
        with pytest.raises(AuditConflict):
            stores.audit.append(AuditEvent.for_commit("s1", 0, other))
        stores.audit.append(AuditEvent.for_commit("s1", 1, other))
        assert stores.audit.events("s1") == [event, AuditEvent.for_commit("s1", 1, other)]
        assert stores.audit.events("s2") == []

    def test_projection_durable_across_restart(self, backend: Backend) -> None:
        first = backend.open()
        base = doc("s1", "a")
        first.sessions.save(base)
        child, commit = base.rewrite(1, 2, [Message("system", "s")], "compaction")
        first.sessions.save_rewrite(child, commit)
        first.audit.append(AuditEvent.for_commit("s1", 0, commit))
        first.close()
        second = backend.open()
        assert second.sessions.load("s1") == child
        assert len(second.audit.events("s1")) == 1
        second.close()
