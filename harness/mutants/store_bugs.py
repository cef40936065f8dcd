"""Seeded historical bugs in the runtime store (wrappers around any backend)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from harness.mutants.proxy import RuntimeProxy
from session_core.codec import check_receipt, decode_session
from session_core.model import InputState, Receipt, RuntimeState
from session_core.stores import guards
from session_core.stores.base import RuntimeStore, SessionStore
from session_core.stores.sqlite import SqliteRuntimeStore
from session_core.stores.sqlite_batch import WriteRequest, run_batch


class RowWritingRuntime(RuntimeProxy):
    """bug-09: the runtime commit writes the projection row itself (as a shared-file
    transaction did), bypassing continuity validation. With separate files the row write and
    the runtime commit are not one transaction."""

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        row = self.sessions.load_row(session_id)
        doc = decode_session(snapshot)
        if row is not None and row.session.archived:
            doc = doc.with_lifecycle(row.session.lifecycle)
        self.sessions.save_if_current(doc, None if row is None else row.token)
        super().atomic_apply(session_id, snapshot, receipt, input_updates)


class BlindClearRuntime(RuntimeProxy):
    """bug-08: quarantine clears whatever snapshot is current instead of byte-CAS on the
    rejected one, so a newer commit that landed in between is lost."""

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        current = self.inner.load_snapshot(session_id)
        if current is None:
            return False
        return self.inner.clear_snapshot_if_current(session_id, current)


class _TwoTransactionRuntime(RuntimeProxy):
    """SQLite only: ``atomic_apply`` commits in two transactions between its ``.before`` and
    ``.after`` sites (``receipt_first`` picks the order). Other backends: unchanged."""

    receipt_first = False

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        store = self.inner
        if not isinstance(store, SqliteRuntimeStore):
            super().atomic_apply(session_id, snapshot, receipt, input_updates)
            return
        check_receipt(snapshot, receipt, path=store.location)

        def snapshot_part(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE rt_sessions SET state = ?, active_run = NULL WHERE session_id = ?",
                (RuntimeState.IDLE.value, session_id),
            )
            store._write_snapshot(conn, session_id, snapshot)  # as the real commit does
            store._lease(conn, session_id, False)
            conn.execute("DELETE FROM rt_tails WHERE session_id = ?", (session_id,))

        def receipt_part(conn: sqlite3.Connection) -> None:
            store._insert_receipt(conn, receipt)
            store._update_inputs(conn, session_id, input_updates)

        first, second = (
            (receipt_part, snapshot_part) if self.receipt_first else (snapshot_part, receipt_part)
        )

        def checked_first(conn: sqlite3.Connection) -> None:
            _, state, _, active = store._record(conn, session_id)
            existing = store._receipts(conn, session_id, receipt.run_id)
            guards.check_receipt_slot(receipt, state, active, existing, "terminal")
            guards.check_input_updates(session_id, store._inputs(conn, session_id), input_updates)
            first(conn)

        store.faults.hit("runtime.atomic_apply.before", session_id)
        store.db.transaction(checked_first, session_id)
        store.db.transaction(second, session_id)
        store.owner.ended(session_id, receipt.run_id)
        store.faults.hit("runtime.atomic_apply.after", session_id)


class SplitCommitRuntime(_TwoTransactionRuntime):
    """SQLite only: the run-boundary commit is split into two transactions, the snapshot
    first, then the terminal receipt and the consumed inputs; a crash in between leaves a
    committed turn without its receipt and with its input still pending."""


class ReceiptFirstRuntime(_TwoTransactionRuntime):
    """SQLite only: the terminal receipt (and the consumed inputs) is committed in its own
    transaction before the snapshot; a crash in between leaves a receipt whose turn is not
    in the authority."""

    receipt_first = True


class NormalSyncRuntime(RuntimeProxy):
    """SQLite only: the runtime file runs with ``synchronous=NORMAL``: in WAL mode its commits
    are not synced until a checkpoint, so after a power loss the authority can lose turns that
    were acknowledged, and that the (synced) projection file already shows."""

    def __init__(self, inner: RuntimeStore, sessions: SessionStore) -> None:
        super().__init__(inner, sessions)
        if isinstance(inner, SqliteRuntimeStore):
            inner.db.read(lambda conn: conn.execute("PRAGMA synchronous = NORMAL"), None)


__all__ = [
    "BlindClearRuntime",
    "NormalSyncRuntime",
    "ReceiptFirstRuntime",
    "RowWritingRuntime",
    "SplitCommitRuntime",
]


def all_members_sync_batch(conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
    """bug-52: a group-commit batch is synced only if *every* member asked for a sync (``all``
    where ``any`` is right): a batch that mixes an unsynced accept or in-run checkpoint with
    a turn's commit is committed without an fsync, yet the commit is acknowledged."""
    synced = all(r.sync for r in batch)
    for request in batch:
        request.sync = synced
    run_batch(conn, batch)


class RunlessAbandonDroppedRuntime(RuntimeProxy):
    """bug-50: an abandonment without a run (recovery abandoning a retired session's pending
    input) is dropped, so the input stays accepted forever."""

    def commit_lifecycle(
        self,
        session_id: str,
        run_id: str | None,
        state: RuntimeState | None,
        input_updates: Mapping[str, InputState],
    ) -> None:
        if run_id is None and state is None and input_updates:
            return
        self.inner.commit_lifecycle(session_id, run_id, state, input_updates)
