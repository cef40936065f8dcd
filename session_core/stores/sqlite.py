"""SQLite backends (stdlib ``sqlite3``). Runtime and projection live in separate files by default
(``runtime.sqlite`` and ``sessions.sqlite3``), as real deployments do: no transaction spans both.
The audit log lives in the projection file. See ``sqlite_db`` for opening and migrations.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from session_core.codec import check_receipt, decode_session, encode_session
from session_core.errors import (
    ChecksumMismatch,
    InputStateConflict,
    SessionArchived,
    SessionExists,
    SessionNotFound,
    SnapshotIdentityMismatch,
    UndecodableRow,
)
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.lease import LEASE_TTL, LeaseOwner, lease_free
from session_core.model import (
    InputRecord,
    InputState,
    Lifecycle,
    Receipt,
    RewriteCommit,
    RuntimeState,
    Session,
    row_token,
    validate_session_id,
)
from session_core.stores import guards
from session_core.stores.base import AuditEvent, RowSummary, StoredRow
from session_core.stores.sqlite_db import Identity, OpenMode, SqliteDatabase, sha256_hex
from session_core.stores.sqlite_dir import RUNTIME_FILE as RUNTIME_FILE
from session_core.stores.sqlite_dir import SESSIONS_FILE as SESSIONS_FILE
from session_core.stores.sqlite_snapshot import DELTAS_VERSION as _DELTAS_VERSION
from session_core.stores.sqlite_snapshot import SNAPSHOT_SQL as _SNAPSHOT_SQL
from session_core.stores.sqlite_snapshot import damaged_messages, write_snapshot

_RuntimeRecord = tuple[bytes | None, RuntimeState, int, str | None]
"""``(snapshot or None, state, run counter, active run)`` of a runtime session."""


class _SqliteBase:
    component = ""
    database_cls: type[SqliteDatabase] = SqliteDatabase
    """Opens the file (a harness may seed a file-level bug by subclassing)."""

    def __init__(
        self,
        path: str | Path,
        faults: FaultPoint = NO_FAULTS,
        *,
        migrate_to: int | None = None,
        mode: OpenMode = "create",
        identity: Identity | None = None,
        shared_layout: bool = False,
    ) -> None:
        self.db = self.database_cls(
            path,
            self.component,
            faults,
            migrate_to=migrate_to,
            mode=mode,
            identity=identity,
            shared_layout=shared_layout,
        )
        self.location = self.db.path
        self.faults = faults
        self._opened()

    def _opened(self) -> None:
        """Per-store state that depends on the opened file's schema."""

    def close(self) -> None:
        self.db.close()

    def _undecodable(self, what: str, session_id: str | None) -> UndecodableRow:
        return UndecodableRow(f"undecodable {what}", session_id=session_id, path=self.location)


# --- runtime -----------------------------------------------------------------------------


class SqliteRuntimeStore(_SqliteBase):
    """RuntimeStore (authority) in one SQLite file."""

    component = "runtime"
    lease_ttl = LEASE_TTL
    clock = staticmethod(time.time)
    sync_accept = False
    """``accept_input`` commits without its own fsync: the service's next write on the turn's
    path (``begin_run``, or the abandon of an abort) is synced and makes the accept durable
    with it before any outcome is returned, so accept + begin cost one fsync. ``True`` syncs
    the accept by itself (a caller that acknowledges an input before running it)."""
    sync_checkpoints = False
    """In-run checkpoints (provisional receipts) are off the synced path: durable with the
    run's synced commit (or abort); a power loss before that loses the uncommitted run anyway.
    ``True``: each checkpoint is synced as it is written."""

    def _opened(self) -> None:
        self.owner = LeaseOwner()
        version = self.db.schema_version()
        self._digests = version >= 3
        self._deltas = version >= _DELTAS_VERSION

    def close(self) -> None:
        self.owner.close()
        super().close()

    def _record(
        self,
        conn: sqlite3.Connection,
        session_id: str,
        *,
        snapshot: bool = False,
        verify: bool = False,
    ) -> _RuntimeRecord:
        """``(snapshot, state, run counter, active run)``; the snapshot (reassembled from
        its message rows, and verified against its digest with ``verify``) only when asked,
        else ``None``."""
        digest = "snapshot_digest" if self._digests else "NULL"
        whole = "NULL" if not snapshot else _SNAPSHOT_SQL if self._deltas else "snapshot"
        row = conn.execute(
            f"SELECT {whole}, state, run_counter, active_run, {digest} FROM rt_sessions"  # noqa: S608  # nosec B608
            " WHERE session_id = ?",
            (validate_session_id(session_id),),
        ).fetchone()
        if row is None:
            raise SessionNotFound("no runtime session", session_id=session_id, path=self.location)
        data, state, counter, active, stored = row
        if snapshot and verify and self._digests and sha256_hex(data) != stored:
            raise self._mismatch(conn, session_id, data)
        try:
            return (
                None if data is None else bytes(data),
                RuntimeState(state),
                int(counter),
                None if active is None else str(active),
            )
        except (ValueError, TypeError) as exc:
            raise self._undecodable("runtime record", session_id) from exc

    def _mismatch(
        self, conn: sqlite3.Connection, session_id: str, snapshot: bytes | None
    ) -> ChecksumMismatch:
        """A snapshot whose bytes no longer match their digest: never served or projected
        (``UndecodableRow`` if the bytes do not even decode). Message rows failing their own
        digest are named."""
        revision = None
        if snapshot is not None:
            revision = decode_session(
                bytes(snapshot), session_id=session_id, path=self.location
            ).revision
        damaged = damaged_messages(conn, session_id) if self._deltas else []
        rows = f"; message rows failing their digest: {damaged}" if damaged else ""
        return ChecksumMismatch(
            "stored snapshot does not match its checksum (quarantined: not served, not"
            f" projected; restore the file from a backup){rows}",
            session_id=session_id,
            path=self.location,
            revision=revision,
        )

    def _receipts(
        self, conn: sqlite3.Connection, session_id: str, run_id: str | None = None
    ) -> list[Receipt]:
        sql = (
            "SELECT run_id, sequence, kind, input_ids, digest, message_count FROM rt_receipts"
            " WHERE session_id = ?"
        )
        params: tuple[str, ...] = (session_id,)
        if run_id is not None:
            sql += " AND run_id = ?"
            params = (session_id, run_id)
        rows = conn.execute(sql + " ORDER BY seq", params).fetchall()
        return [self._receipt(session_id, r) for r in rows]

    def _receipt(self, session_id: str, row: Sequence[object]) -> Receipt:
        run_id, sequence, kind, input_ids, digest, count = row
        try:
            ids = json.loads(str(input_ids))
            if kind not in ("checkpoint", "terminal") or not isinstance(ids, list):
                raise ValueError(kind)
            return Receipt(
                session_id,
                str(run_id),
                int(str(sequence)),
                "checkpoint" if kind == "checkpoint" else "terminal",
                tuple(str(i) for i in ids),
                str(digest),
                int(str(count)),
            )
        except (ValueError, TypeError) as exc:
            raise self._undecodable("receipt", session_id) from exc

    def _inputs(
        self, conn: sqlite3.Connection, session_id: str, only: Sequence[str] | None = None
    ) -> dict[str, InputRecord]:
        """The session's inputs in acceptance order; with ``only``, just those ids (what a
        transition check needs: one indexed row per id instead of the whole history)."""
        select = "SELECT input_id, payload, state, run_id FROM rt_inputs WHERE session_id = ?"
        if only is None:
            rows = conn.execute(f"{select} ORDER BY seq", (session_id,)).fetchall()
        else:
            rows = [
                row
                for input_id in dict.fromkeys(only)
                for row in conn.execute(f"{select} AND input_id = ?", (session_id, input_id))
            ]
        return {str(row[0]): self._input(session_id, row) for row in rows}

    def _input(self, session_id: str, row: Sequence[object]) -> InputRecord:
        input_id, payload, state, run_id = row
        try:
            return InputRecord(
                str(input_id),
                str(payload),
                InputState(str(state)),
                None if run_id is None else str(run_id),
            )
        except ValueError as exc:
            raise self._undecodable("input", session_id) from exc

    # --- reads ---------------------------------------------------------------------------

    def load_snapshot(self, session_id: str) -> bytes | None:
        return self.db.read(
            lambda c: self._record(c, session_id, snapshot=True, verify=True)[0], session_id
        )

    def receipts(self, session_id: str) -> list[Receipt]:
        return self.db.read(lambda c: self._receipts(c, session_id), session_id)

    def inputs(self, session_id: str) -> list[InputRecord]:
        return self.db.read(lambda c: list(self._inputs(c, session_id).values()), session_id)

    def runtime_state(self, session_id: str) -> RuntimeState | None:
        def read(conn: sqlite3.Connection) -> RuntimeState | None:
            try:
                return self._record(conn, session_id)[1]
            except SessionNotFound:
                return None

        return self.db.read(read, session_id)

    def active_run(self, session_id: str) -> str | None:
        return self.db.read(lambda c: self._record(c, session_id)[3], session_id)

    def provisional(self, session_id: str) -> list[tuple[Receipt, bytes]]:
        def read(conn: sqlite3.Connection) -> list[tuple[Receipt, bytes]]:
            active = self._record(conn, session_id)[3]
            if active is None:
                return []
            receipts = {r.sequence: r for r in self._receipts(conn, session_id, active)}
            rows = conn.execute(
                "SELECT sequence, tail FROM rt_tails WHERE session_id = ? AND run_id = ?"
                " ORDER BY sequence",
                (session_id, active),
            ).fetchall()
            return [(receipts[int(seq)], bytes(tail)) for seq, tail in rows]

        return self.db.read(read, session_id)

    def session_ids(self) -> list[str]:
        def read(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT session_id FROM rt_sessions ORDER BY session_id")
            return [str(r[0]) for r in rows]

        return self.db.read(read, None)

    # --- writes --------------------------------------------------------------------------

    def create(self, session_id: str, snapshot: bytes) -> None:
        validate_session_id(session_id)
        self._check_identity(snapshot, session_id)

        def run(conn: sqlite3.Connection) -> None:
            exists = conn.execute(
                "SELECT 1 FROM rt_sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
            if exists is not None:
                raise SessionExists("session exists", session_id=session_id, path=self.location)
            conn.execute(
                "INSERT INTO rt_sessions (session_id, state) VALUES (?, ?)",
                (session_id, RuntimeState.IDLE.value),
            )
            self._write_snapshot(conn, session_id, snapshot)

        self.db.write("runtime.create", session_id, run)

    def _accept(
        self, conn: sqlite3.Connection, session_id: str, input_id: str, payload: str
    ) -> tuple[_RuntimeRecord, InputRecord]:
        """Accept the input. Returns the runtime record read to check it and the input as
        stored now (accepting changes neither, so ``_begin`` in the same transaction reuses
        them instead of reading them again)."""
        record = self._record(conn, session_id)
        if record[1] is RuntimeState.RETIRED:
            raise SessionArchived("runtime is retired", session_id=session_id)
        old = conn.execute(
            "SELECT input_id, payload, state, run_id FROM rt_inputs"
            " WHERE session_id = ? AND input_id = ?",
            (session_id, input_id),
        ).fetchone()
        if old is not None:
            if str(old[1]) != payload:
                raise InputStateConflict(
                    f"input {input_id!r} exists with another payload", session_id=session_id
                )
            return record, self._input(session_id, old)
        conn.execute(
            "INSERT INTO rt_inputs (session_id, input_id, payload, state) VALUES (?, ?, ?, ?)",
            (session_id, input_id, payload, InputState.ACCEPTED.value),
        )
        return record, InputRecord(input_id, payload, InputState.ACCEPTED)

    def accept_input(self, session_id: str, input_id: str, payload: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._accept(conn, session_id, input_id, payload)

        self.db.write("runtime.accept_input", session_id, run, sync=self.sync_accept)

    def accept_and_begin(self, session_id: str, input_id: str, payload: str) -> str:
        """``accept_input`` + ``begin_run`` in one transaction (the turn's first write);
        unsynced unless ``sync_accept``: the run's commit or abort syncs it."""

        def run(conn: sqlite3.Connection) -> str:
            record, accepted = self._accept(conn, session_id, input_id, payload)
            return self._begin(conn, session_id, (input_id,), (record, {input_id: accepted}))

        sites = ("runtime.accept_input", "runtime.begin_run")
        run_id = self.db.write(sites, session_id, run, sync=self.sync_accept)
        self.owner.began(session_id, run_id)
        return run_id

    def _write_snapshot(
        self, conn: sqlite3.Connection, session_id: str, snapshot: bytes | None
    ) -> None:
        """The committed snapshot with its checksum: as message deltas from schema v4 on
        (``sqlite_snapshot``), whole in older files."""
        if self._deltas:
            write_snapshot(conn, session_id, snapshot)
            return
        conn.execute(
            "UPDATE rt_sessions SET snapshot = ? WHERE session_id = ?", (snapshot, session_id)
        )
        if self._digests:
            conn.execute(
                "UPDATE rt_sessions SET snapshot_digest = sc_sha256(snapshot) WHERE session_id = ?",
                (session_id,),
            )

    def _takeover(self, conn: sqlite3.Connection, session_id: str, active: str | None) -> bool:
        """The held lease of ``active`` may be taken over (dead holder or expired)."""
        if active is None or not self._digests:
            return False
        holder, expires = conn.execute(
            "SELECT lease_owner, lease_expires FROM rt_sessions WHERE session_id = ?",
            (session_id,),
        ).fetchone()
        when = None if expires is None else float(expires)
        owner = None if holder is None else str(holder)
        return lease_free(self.owner, owner, when, self.clock(), session_id, active)

    def _lease(self, conn: sqlite3.Connection, session_id: str, held: bool) -> None:
        columns, values = self._lease_columns(held)
        if columns:
            conn.execute(
                f"UPDATE rt_sessions SET {columns[2:]} WHERE session_id = ?",  # noqa: S608  # nosec B608
                (*values, session_id),
            )

    def _lease_columns(self, held: bool) -> tuple[str, tuple[str | float | None, ...]]:
        """The lease's ``SET`` fragment (``", lease_owner = ?, ..."``) and its values, to be
        written by the statement that changes the run (one statement instead of two); empty
        before schema v3, which has no lease columns."""
        if not self._digests:
            return "", ()
        owner = self.owner.token if held else None
        expires = self.clock() + self.lease_ttl if held else None
        return ", lease_owner = ?, lease_expires = ?", (owner, expires)

    def _begin(
        self,
        conn: sqlite3.Connection,
        session_id: str,
        input_ids: Sequence[str],
        read: tuple[_RuntimeRecord, dict[str, InputRecord]] | None = None,
    ) -> str:
        """``read``: the runtime record and the inputs this transaction already read (accept
        + begin), else both are read here."""
        _, state, counter, active = read[0] if read else self._record(conn, session_id)
        if self._takeover(conn, session_id, active):
            active = None  # fenced: the old run-N no longer holds the lease
        guards.check_can_run(session_id, state, active)
        inputs = read[1] if read else self._inputs(conn, session_id, input_ids)
        guards.check_input_updates(session_id, inputs, {i: InputState.CONSUMED for i in input_ids})
        run_id = f"run-{counter + 1}"
        lease, held = self._lease_columns(True)
        conn.execute(
            "UPDATE rt_sessions SET run_counter = ?, active_run = ?, state = ?"  # noqa: S608  # nosec B608
            f"{lease} WHERE session_id = ?",
            (counter + 1, run_id, RuntimeState.RUNNING.value, *held, session_id),
        )
        conn.executemany(
            "UPDATE rt_inputs SET run_id = ? WHERE session_id = ? AND input_id = ?",
            [(run_id, session_id, i) for i in input_ids],
        )
        conn.execute("DELETE FROM rt_tails WHERE session_id = ?", (session_id,))
        return run_id

    def begin_run(self, session_id: str, input_ids: Sequence[str]) -> str:
        run_id = self.db.write(
            "runtime.begin_run", session_id, lambda c: self._begin(c, session_id, input_ids)
        )
        self.owner.began(session_id, run_id)
        return run_id

    def _insert_receipt(self, conn: sqlite3.Connection, receipt: Receipt) -> None:
        conn.execute(
            "INSERT INTO rt_receipts (session_id, run_id, sequence, kind, input_ids, digest,"
            " message_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                receipt.session_id,
                receipt.run_id,
                receipt.sequence,
                receipt.kind,
                json.dumps(list(receipt.input_ids)),
                receipt.digest,
                receipt.message_count,
            ),
        )

    def record_checkpoint(self, receipt: Receipt, tail: bytes) -> None:
        sid = receipt.session_id
        check_receipt(tail, receipt, path=self.location)

        def run(conn: sqlite3.Connection) -> None:
            _, state, _, active = self._record(conn, sid)
            existing = self._receipts(conn, sid, receipt.run_id)
            guards.check_receipt_slot(receipt, state, active, existing, "checkpoint")
            self._insert_receipt(conn, receipt)
            conn.execute(
                "INSERT INTO rt_tails (session_id, run_id, sequence, tail) VALUES (?, ?, ?, ?)",
                (sid, receipt.run_id, receipt.sequence, tail),
            )
            self._lease(conn, sid, True)  # renewed

        self.db.write("runtime.record_checkpoint", sid, run, sync=self.sync_checkpoints)

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        if receipt.session_id != session_id:
            raise SnapshotIdentityMismatch("receipt of another session", session_id=session_id)
        check_receipt(snapshot, receipt, path=self.location)

        def run(conn: sqlite3.Connection) -> None:
            _, state, _, active = self._record(conn, session_id)
            existing = self._receipts(conn, session_id, receipt.run_id)
            guards.check_receipt_slot(receipt, state, active, existing, "terminal")
            guards.check_input_updates(
                session_id, self._inputs(conn, session_id, list(input_updates)), input_updates
            )
            lease, released = self._lease_columns(False)
            conn.execute(
                f"UPDATE rt_sessions SET state = ?, active_run = NULL{lease} WHERE session_id = ?",  # noqa: S608  # nosec B608
                (RuntimeState.IDLE.value, *released, session_id),
            )
            self._write_snapshot(conn, session_id, snapshot)
            self._insert_receipt(conn, receipt)
            self._update_inputs(conn, session_id, input_updates)
            conn.execute("DELETE FROM rt_tails WHERE session_id = ?", (session_id,))

        self.db.write("runtime.atomic_apply", session_id, run)
        self.owner.ended(session_id, receipt.run_id)

    def _update_inputs(
        self, conn: sqlite3.Connection, session_id: str, updates: Mapping[str, InputState]
    ) -> None:
        conn.executemany(
            "UPDATE rt_inputs SET state = ? WHERE session_id = ? AND input_id = ?",
            [(state.value, session_id, input_id) for input_id, state in updates.items()],
        )

    def commit_lifecycle(
        self,
        session_id: str,
        run_id: str | None,
        state: RuntimeState | None,
        input_updates: Mapping[str, InputState],
    ) -> None:
        def run(conn: sqlite3.Connection) -> None:
            _, current, _, active = self._record(conn, session_id)
            guards.check_lifecycle_run(session_id, current, active, run_id, state)
            guards.check_input_updates(
                session_id, self._inputs(conn, session_id, list(input_updates)), input_updates
            )
            if run_id is not None:
                conn.execute(
                    "UPDATE rt_sessions SET active_run = NULL WHERE session_id = ?", (session_id,)
                )
                conn.execute("DELETE FROM rt_tails WHERE session_id = ?", (session_id,))
                self._lease(conn, session_id, False)
            if state is not None:
                conn.execute(
                    "UPDATE rt_sessions SET state = ? WHERE session_id = ?",
                    (state.value, session_id),
                )
            self._update_inputs(conn, session_id, input_updates)

        try:
            self.db.write("runtime.commit_lifecycle", session_id, run)
        finally:
            # the caller is done with this run either way: if the release failed, the lease
            # is taken over by the next turn instead of blocking the session
            self.owner.ended(session_id, run_id)

    def retire(self, session_id: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._record(conn, session_id)
            conn.execute(
                "UPDATE rt_sessions SET state = ?, active_run = NULL WHERE session_id = ?",
                (RuntimeState.RETIRED.value, session_id),
            )
            conn.execute("DELETE FROM rt_tails WHERE session_id = ?", (session_id,))
            self._lease(conn, session_id, False)

        self.db.write("runtime.retire", session_id, run)

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            if self._record(conn, session_id, snapshot=True)[0] != expected:
                return False
            self._write_snapshot(conn, session_id, None)
            return True

        return self.db.write("runtime.clear_snapshot", session_id, run)

    def replace_snapshot_if_current(self, session_id: str, expected: bytes, new: bytes) -> bool:
        self._check_identity(new, session_id)

        def run(conn: sqlite3.Connection) -> bool:
            if self._record(conn, session_id, snapshot=True)[0] != expected:
                return False
            self._write_snapshot(conn, session_id, new)
            return True

        return self.db.write("runtime.replace_snapshot", session_id, run)

    def _check_identity(self, snapshot: bytes, session_id: str) -> None:
        session = decode_session(snapshot, path=self.location)
        if session.id != session_id:
            raise SnapshotIdentityMismatch(
                f"snapshot belongs to {session.id!r}", session_id=session_id, path=self.location
            )
        guards.check_document(session)


# --- projection --------------------------------------------------------------------------


class SqliteSessionStore(_SqliteBase):
    """SessionStore (projection) in one SQLite file."""

    component = "sessions"

    def _opened(self) -> None:
        self._keeps_deleted = self.db.schema_version() >= 3

    def _row(self, conn: sqlite3.Connection, session_id: str) -> StoredRow | None:
        found = conn.execute(
            "SELECT row, token, revision FROM ss_rows WHERE session_id = ?",
            (validate_session_id(session_id),),
        ).fetchone()
        if found is None:
            return None
        data = bytes(found[0])
        try:
            session = decode_session(data, session_id=session_id, path=self.location)
        except UndecodableRow as exc:
            exc.stored_token = str(found[1])
            raise
        token = row_token(data)
        if token != str(found[1]) or session.revision != str(found[2]):
            raise ChecksumMismatch(
                "projection row does not match its checksum (quarantined: not served; a"
                " runtime-backed row is rebuilt from the authority by the next projection or"
                " recovery)",
                session_id=session_id,
                path=self.location,
                revision=str(found[2]),
                stored_token=str(found[1]),
            )
        return StoredRow(session, data, token)

    def load_row(self, session_id: str) -> StoredRow | None:
        return self.db.read(lambda c: self._row(c, session_id), session_id)

    def load(self, session_id: str) -> Session | None:
        row = self.load_row(session_id)
        return None if row is None else row.session

    def list(self) -> list[RowSummary]:
        def read(conn: sqlite3.Connection) -> list[RowSummary]:
            rows = conn.execute(
                "SELECT session_id, revision, message_count, lifecycle, token FROM ss_rows"
                " ORDER BY session_id"
            ).fetchall()
            return [self._summary(r) for r in rows]

        return self.db.read(read, None)

    def _summary(self, row: Sequence[object]) -> RowSummary:
        sid, revision, count, lifecycle, token = row
        try:
            return RowSummary(
                str(sid), str(revision), int(str(count)), Lifecycle(str(lifecycle)), str(token)
            )
        except ValueError as exc:
            raise self._undecodable("row summary", str(sid)) from exc

    def _put(self, conn: sqlite3.Connection, session: Session) -> None:
        data = encode_session(session)
        conn.execute(
            "INSERT INTO ss_rows (session_id, row, token, revision, lifecycle, message_count)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
            " row = excluded.row, token = excluded.token, revision = excluded.revision,"
            " lifecycle = excluded.lifecycle, message_count = excluded.message_count",
            (
                session.id,
                data,
                row_token(data),
                session.revision,
                session.lifecycle.value,
                len(session.messages),
            ),
        )

    def save(self, session: Session) -> None:
        guards.check_document(session)

        def run(conn: sqlite3.Connection) -> None:
            row = self._row(conn, session.id)
            if row is not None:
                guards.check_plain_save(row.session, session)
            self._put(conn, session)

        self.db.write("sessions.save", session.id, run)

    def save_rewrite(self, session: Session, commit: RewriteCommit) -> None:
        guards.check_document(session)

        def run(conn: sqlite3.Connection) -> None:
            row = self._row(conn, session.id)
            guards.check_rewrite_save(None if row is None else row.session, session, commit)
            self._put(conn, session)

        self.db.write("sessions.save_rewrite", session.id, run)

    def save_if_current(self, session: Session, expected_token: str | None) -> bool:
        guards.check_document(session)

        def run(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT row, token FROM ss_rows WHERE session_id = ?", (session.id,)
            ).fetchone()
            current = None if found is None else str(found[1])
            if current != expected_token:
                return False
            if found is not None:
                stored = self._row(conn, session.id)
                guards.check_lifecycle(None if stored is None else stored.session, session)
            self._put(conn, session)
            return True

        return self.db.write("sessions.save_if_current", session.id, run)

    def delete_if_current(self, session_id: str, token: str) -> bool:
        validate_session_id(session_id)

        def run(conn: sqlite3.Connection) -> bool:
            if self._keeps_deleted:  # a deleted row is kept for inspection
                conn.execute(
                    "INSERT INTO ss_quarantine (session_id, row, token) SELECT session_id, row,"
                    " token FROM ss_rows WHERE session_id = ? AND token = ?",
                    (session_id, token),
                )
            cursor = conn.execute(
                "DELETE FROM ss_rows WHERE session_id = ? AND token = ?", (session_id, token)
            )
            return cursor.rowcount == 1

        return self.db.write("sessions.delete_if_current", session_id, run)


class SqliteAuditLog(_SqliteBase):
    """AuditLog in the projection file (table ``ss_audit``)."""

    component = "sessions"

    def append(self, event: AuditEvent) -> None:
        validate_session_id(event.session_id)

        def run(conn: sqlite3.Connection) -> None:
            if guards.check_audit(self._events(conn, event.session_id), event):
                conn.execute(
                    "INSERT INTO ss_audit (session_id, idx, parent_revision, revision, reason,"
                    " commit_digest) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        event.session_id,
                        event.index,
                        event.parent_revision,
                        event.revision,
                        event.reason,
                        event.commit_digest,
                    ),
                )

        self.db.write("audit.append", event.session_id, run)

    def _events(self, conn: sqlite3.Connection, session_id: str) -> list[AuditEvent]:
        rows = conn.execute(
            "SELECT idx, parent_revision, revision, reason, commit_digest FROM ss_audit"
            " WHERE session_id = ? ORDER BY idx",
            (session_id,),
        ).fetchall()
        return [
            AuditEvent(session_id, int(i), str(p), str(r), str(why), str(d))
            for i, p, r, why, d in rows
        ]

    def events(self, session_id: str) -> list[AuditEvent]:
        return self.db.read(lambda c: self._events(c, session_id), session_id)
