"""In-memory backends with an explicit durable/volatile split.

``MemoryDisk`` is the durable state: it survives a simulated crash and is shared by every store
built over it (like files on a disk). Everything held by a store object is volatile: an
operation validates and stages its changes in locals, then installs them into the disk in one
step (its commit point, between the ``.before`` and ``.after`` fault sites). A crash before the
commit point loses exactly the staged changes. After ``crash()`` (or any ``SimulatedCrash``) a
restart is modelled by building new stores over the same disk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

from session_core.codec import check_receipt, decode_session, encode_session
from session_core.errors import (
    InputStateConflict,
    SessionArchived,
    SessionCoreError,
    SessionExists,
    SessionNotFound,
    SnapshotIdentityMismatch,
    StoreClosed,
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

LOCATION = "<memory>"
T = TypeVar("T")


@dataclass(frozen=True)
class RuntimeRecord:
    snapshot: bytes | None
    state: RuntimeState
    run_counter: int = 0
    active_run: str | None = None
    lease_owner: str | None = None
    lease_expires: float | None = None


@dataclass
class MemoryDisk:
    """Durable state of the memory backends. Survives ``crash()``; share it to 'restart'."""

    runtime: dict[str, RuntimeRecord] = field(default_factory=dict)
    receipts: dict[str, tuple[Receipt, ...]] = field(default_factory=dict)
    inputs: dict[str, dict[str, InputRecord]] = field(default_factory=dict)
    tails: dict[str, tuple[tuple[Receipt, bytes], ...]] = field(default_factory=dict)
    rows: dict[str, bytes] = field(default_factory=dict)
    audit: dict[str, tuple[AuditEvent, ...]] = field(default_factory=dict)
    quarantine: list[tuple[str, bytes]] = field(default_factory=list)
    """Rows removed by ``delete_if_current`` (quarantine, rebuild), kept for inspection."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)


class _MemoryBase:
    location = LOCATION
    _prefix = ""

    def __init__(self, disk: MemoryDisk | None = None, faults: FaultPoint = NO_FAULTS) -> None:
        self.disk = disk if disk is not None else MemoryDisk()
        self.faults = faults
        self._open = True

    def crash(self) -> None:
        """Simulated crash: drop volatile state; this object is dead, the disk survives."""
        self._open = False

    def close(self) -> None:
        self._open = False

    def _check(self) -> None:
        if not self._open:
            raise StoreClosed("store is closed", path=self.location)

    def _read(self, fn: Callable[[], T]) -> T:
        self._check()
        with self.disk.lock, _located(self.location):
            return fn()

    def _write(self, op: str | tuple[str, ...], session_id: str | None, fn: Callable[[], T]) -> T:
        """``fn`` validates first and installs into the disk last (the commit point); merged
        operations pass the sites of each."""
        ops = (op,) if isinstance(op, str) else op
        self._check()
        for name in ops:
            self.faults.hit(f"{self._prefix}.{name}.before", session_id)
        with self.disk.lock, _located(self.location):
            self._check()
            result = fn()
        for name in ops:
            self.faults.hit(f"{self._prefix}.{name}.after", session_id)
        return result


@contextmanager
def _located(location: str) -> Iterator[None]:
    """Typed errors name the store they came from."""
    try:
        yield
    except SessionCoreError as exc:
        if exc.path is None:
            exc.path = location
            exc.args = (exc._render(),)
        raise


class MemoryRuntimeStore(_MemoryBase):
    """RuntimeStore (authority) over a ``MemoryDisk``. Run leases name this store object as
    holder (``LeaseOwner``): a lease of a closed or crashed store, or of a run this store
    already ended, is taken over by the next ``begin_run``, as is an expired one."""

    _prefix = "runtime"
    lease_ttl = LEASE_TTL
    clock = staticmethod(time.time)

    def __init__(self, disk: MemoryDisk | None = None, faults: FaultPoint = NO_FAULTS) -> None:
        super().__init__(disk, faults)
        self.owner = LeaseOwner()

    def crash(self) -> None:
        self.owner.close()
        super().crash()

    def close(self) -> None:
        self.owner.close()
        super().close()

    def _lease_free(self, session_id: str, record: RuntimeRecord) -> bool:
        if record.active_run is None:
            return False
        return lease_free(
            self.owner,
            record.lease_owner,
            record.lease_expires,
            self.clock(),
            session_id,
            record.active_run,
        )

    # --- reads ---------------------------------------------------------------------------

    def _record(self, session_id: str) -> RuntimeRecord:
        record = self.disk.runtime.get(validate_session_id(session_id))
        if record is None:
            raise SessionNotFound("no runtime session", session_id=session_id, path=self.location)
        return record

    def load_snapshot(self, session_id: str) -> bytes | None:
        return self._read(lambda: self._record(session_id).snapshot)

    def receipts(self, session_id: str) -> list[Receipt]:
        return self._read(lambda: list(self.disk.receipts.get(session_id, ())))

    def inputs(self, session_id: str) -> list[InputRecord]:
        return self._read(lambda: list(self.disk.inputs.get(session_id, {}).values()))

    def runtime_state(self, session_id: str) -> RuntimeState | None:
        def read() -> RuntimeState | None:
            record = self.disk.runtime.get(session_id)
            return None if record is None else record.state

        return self._read(read)

    def active_run(self, session_id: str) -> str | None:
        return self._read(lambda: self._record(session_id).active_run)

    def provisional(self, session_id: str) -> list[tuple[Receipt, bytes]]:
        return self._read(lambda: list(self.disk.tails.get(session_id, ())))

    def session_ids(self) -> list[str]:
        return self._read(lambda: sorted(self.disk.runtime))

    # --- writes --------------------------------------------------------------------------

    def create(self, session_id: str, snapshot: bytes) -> None:
        validate_session_id(session_id)

        def apply() -> None:
            if session_id in self.disk.runtime:
                raise SessionExists("session exists", session_id=session_id, path=self.location)
            _check_identity(snapshot, session_id, self.location)
            self.disk.runtime[session_id] = RuntimeRecord(snapshot, RuntimeState.IDLE)
            self.disk.inputs[session_id] = {}

        self._write("create", session_id, apply)

    def _new_input(self, session_id: str, input_id: str, payload: str) -> InputRecord | None:
        """Validate an accept; the record to install (``None``: already accepted, same payload)."""
        record = self._record(session_id)
        if record.state is RuntimeState.RETIRED:
            raise SessionArchived("runtime is retired", session_id=session_id)
        old = self.disk.inputs.get(session_id, {}).get(input_id)
        if old is None:
            return InputRecord(input_id, payload, InputState.ACCEPTED)
        if old.payload != payload:
            raise InputStateConflict(
                f"input {input_id!r} exists with another payload", session_id=session_id
            )
        return None

    def accept_input(self, session_id: str, input_id: str, payload: str) -> None:
        def apply() -> None:
            new = self._new_input(session_id, input_id, payload)
            inputs = self.disk.inputs.setdefault(session_id, {})
            if new is not None:
                inputs[input_id] = new

        self._write("accept_input", session_id, apply)

    def _begin(
        self, session_id: str, inputs: Mapping[str, InputRecord], input_ids: Sequence[str]
    ) -> str:
        """Validate a run start against ``inputs``, then install it (the commit point)."""
        record = self._record(session_id)
        active = None if self._lease_free(session_id, record) else record.active_run
        guards.check_can_run(session_id, record.state, active)
        guards.check_input_updates(session_id, inputs, {i: InputState.CONSUMED for i in input_ids})
        run_id = f"run-{record.run_counter + 1}"
        staged = {i: replace(inputs[i], run_id=run_id) for i in input_ids}
        self.disk.runtime[session_id] = replace(
            record,
            run_counter=record.run_counter + 1,
            active_run=run_id,
            state=RuntimeState.RUNNING,
            lease_owner=self.owner.token,
            lease_expires=self.clock() + self.lease_ttl,
        )
        self.disk.inputs.setdefault(session_id, {}).update(staged)
        self.disk.tails[session_id] = ()
        return run_id

    def begin_run(self, session_id: str, input_ids: Sequence[str]) -> str:
        def apply() -> str:
            return self._begin(session_id, self.disk.inputs.get(session_id, {}), input_ids)

        run_id = self._write("begin_run", session_id, apply)
        self.owner.began(session_id, run_id)
        return run_id

    def accept_and_begin(self, session_id: str, input_id: str, payload: str) -> str:
        """``accept_input`` + ``begin_run`` installed in one step (all or nothing)."""

        def apply() -> str:
            new = self._new_input(session_id, input_id, payload)
            inputs = self.disk.inputs.get(session_id, {})
            view = inputs if new is None else {**inputs, input_id: new}
            return self._begin(session_id, view, (input_id,))

        run_id = self._write(("accept_input", "begin_run"), session_id, apply)
        self.owner.began(session_id, run_id)
        return run_id

    def record_checkpoint(self, receipt: Receipt, tail: bytes) -> None:
        sid = receipt.session_id

        def apply() -> None:
            record = self._record(sid)
            check_receipt(tail, receipt, path=self.location)
            existing = self.disk.receipts.get(sid, ())
            guards.check_receipt_slot(
                receipt, record.state, record.active_run, existing, "checkpoint"
            )
            self.disk.receipts[sid] = (*existing, receipt)
            self.disk.tails[sid] = (*self.disk.tails.get(sid, ()), (receipt, tail))
            self.disk.runtime[sid] = replace(record, lease_expires=self.clock() + self.lease_ttl)

        self._write("record_checkpoint", sid, apply)

    def atomic_apply(
        self,
        session_id: str,
        snapshot: bytes,
        receipt: Receipt,
        input_updates: Mapping[str, InputState],
    ) -> None:
        def apply() -> None:
            record = self._record(session_id)
            if receipt.session_id != session_id:
                raise SnapshotIdentityMismatch("receipt of another session", session_id=session_id)
            check_receipt(snapshot, receipt, path=self.location)
            existing = self.disk.receipts.get(session_id, ())
            guards.check_receipt_slot(
                receipt, record.state, record.active_run, existing, "terminal"
            )
            inputs = self.disk.inputs.get(session_id, {})
            guards.check_input_updates(session_id, inputs, input_updates)
            staged = {i: replace(inputs[i], state=s) for i, s in input_updates.items()}
            # commit point: install everything
            self.disk.runtime[session_id] = replace(
                record,
                snapshot=snapshot,
                state=RuntimeState.IDLE,
                active_run=None,
                lease_owner=None,
                lease_expires=None,
            )
            self.disk.receipts[session_id] = (*existing, receipt)
            inputs.update(staged)
            self.disk.tails[session_id] = ()

        self._write("atomic_apply", session_id, apply)
        self.owner.ended(session_id, receipt.run_id)

    def commit_lifecycle(
        self,
        session_id: str,
        run_id: str | None,
        state: RuntimeState | None,
        input_updates: Mapping[str, InputState],
    ) -> None:
        def apply() -> None:
            record = self._record(session_id)
            guards.check_lifecycle_run(session_id, record.state, record.active_run, run_id, state)
            inputs = self.disk.inputs.get(session_id, {})
            guards.check_input_updates(session_id, inputs, input_updates)
            staged = {i: replace(inputs[i], state=s) for i, s in input_updates.items()}
            if run_id is not None:
                record = replace(record, active_run=None, lease_owner=None, lease_expires=None)
                self.disk.tails[session_id] = ()
            if state is not None:
                record = replace(record, state=state)
            self.disk.runtime[session_id] = record
            inputs.update(staged)

        try:
            self._write("commit_lifecycle", session_id, apply)
        finally:
            self.owner.ended(session_id, run_id)

    def retire(self, session_id: str) -> None:
        def apply() -> None:
            record = self._record(session_id)
            self.disk.runtime[session_id] = replace(
                record,
                state=RuntimeState.RETIRED,
                active_run=None,
                lease_owner=None,
                lease_expires=None,
            )
            self.disk.tails[session_id] = ()

        self._write("retire", session_id, apply)

    def clear_snapshot_if_current(self, session_id: str, expected: bytes) -> bool:
        def apply() -> bool:
            record = self._record(session_id)
            if record.snapshot != expected:
                return False
            self.disk.runtime[session_id] = replace(record, snapshot=None)
            return True

        return self._write("clear_snapshot", session_id, apply)

    def replace_snapshot_if_current(self, session_id: str, expected: bytes, new: bytes) -> bool:
        def apply() -> bool:
            record = self._record(session_id)
            _check_identity(new, session_id, self.location)
            if record.snapshot != expected:
                return False
            self.disk.runtime[session_id] = replace(record, snapshot=new)
            return True

        return self._write("replace_snapshot", session_id, apply)


def _check_identity(snapshot: bytes, session_id: str, location: str) -> None:
    session = decode_session(snapshot, path=location)
    if session.id != session_id:
        raise SnapshotIdentityMismatch(
            f"snapshot belongs to {session.id!r}", session_id=session_id, path=location
        )
    guards.check_document(session)


class MemorySessionStore(_MemoryBase):
    """SessionStore (projection) over a ``MemoryDisk``."""

    _prefix = "sessions"

    def _row(self, session_id: str) -> StoredRow | None:
        data = self.disk.rows.get(validate_session_id(session_id))
        if data is None:
            return None
        try:
            session = decode_session(data, session_id=session_id, path=self.location)
        except UndecodableRow as exc:
            exc.stored_token = row_token(data)
            raise
        return StoredRow(session, data, row_token(data))

    def load_row(self, session_id: str) -> StoredRow | None:
        return self._read(lambda: self._row(session_id))

    def load(self, session_id: str) -> Session | None:
        row = self.load_row(session_id)
        return None if row is None else row.session

    def list(self) -> list[RowSummary]:
        def read() -> list[RowSummary]:
            rows = [self._row(sid) for sid in sorted(self.disk.rows)]
            return [_summary(r) for r in rows if r is not None]

        return self._read(read)

    def save(self, session: Session) -> None:
        guards.check_document(session)

        def apply() -> None:
            row = self._row(session.id)
            if row is not None:
                guards.check_plain_save(row.session, session)
            self.disk.rows[session.id] = encode_session(session)

        self._write("save", session.id, apply)

    def save_rewrite(self, session: Session, commit: RewriteCommit) -> None:
        guards.check_document(session)

        def apply() -> None:
            row = self._row(session.id)
            guards.check_rewrite_save(None if row is None else row.session, session, commit)
            self.disk.rows[session.id] = encode_session(session)

        self._write("save_rewrite", session.id, apply)

    def save_if_current(self, session: Session, expected_token: str | None) -> bool:
        guards.check_document(session)

        def apply() -> bool:
            row = self._row(session.id)
            current = None if row is None else row.token
            if current != expected_token:
                return False
            guards.check_lifecycle(None if row is None else row.session, session)
            self.disk.rows[session.id] = encode_session(session)
            return True

        return self._write("save_if_current", session.id, apply)

    def delete_if_current(self, session_id: str, token: str) -> bool:
        def apply() -> bool:
            data = self.disk.rows.get(validate_session_id(session_id))
            if data is None or row_token(data) != token:
                return False
            self.disk.quarantine.append((session_id, data))
            del self.disk.rows[session_id]
            return True

        return self._write("delete_if_current", session_id, apply)


def _summary(row: StoredRow) -> RowSummary:
    s = row.session
    return RowSummary(s.id, s.revision, len(s.messages), s.lifecycle, row.token)


class MemoryAuditLog(_MemoryBase):
    """AuditLog over a ``MemoryDisk``."""

    _prefix = "audit"

    def append(self, event: AuditEvent) -> None:
        validate_session_id(event.session_id)

        def apply() -> None:
            existing = self.disk.audit.get(event.session_id, ())
            if guards.check_audit(existing, event):
                self.disk.audit[event.session_id] = (*existing, event)

        self._write("append", event.session_id, apply)

    def events(self, session_id: str) -> list[AuditEvent]:
        return self._read(lambda: list(self.disk.audit.get(session_id, ())))


__all__ = [
    "LOCATION",
    "Lifecycle",
    "MemoryAuditLog",
    "MemoryDisk",
    "MemoryRuntimeStore",
    "MemorySessionStore",
]
