"""Snapshots of both stores (authority and projection) taken between steps and after crashes.

Captured through an observer over the same durable state (no faults armed), so a crashed
process can still be inspected.

Everything here is immutable, so it is shared instead of recomputed: decoded documents are
cached by their bytes, and on the memory backend a ``SessionState`` is interned by the exact
durable data it was built from (row bytes, runtime record, receipts, inputs, audit events), in
one bounded table per process. Identical data gives the very same object, so facts derived
from it (turn lists, receipt JSON, fingerprints, ``memo``) are computed once, also across runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from session_core.codec import decode_session
from session_core.errors import InvalidSessionId, SessionCoreError, UndecodableRow
from session_core.factory import Stores
from session_core.model import InputRecord, Receipt, Session, validate_session_id
from session_core.projection import unaudited_index
from session_core.stores.base import AuditEvent
from session_core.stores.memory import MemoryDisk, RuntimeRecord

K = TypeVar("K")
V = TypeVar("V")
_SERIALS = itertools.count(1)


@dataclass(frozen=True)
class SessionState:
    id: str
    runtime_backed: bool
    authority: Session | None
    runtime_state: str | None
    active_run: str | None
    receipts: tuple[Receipt, ...]
    inputs: tuple[InputRecord, ...]
    row: Session | None
    row_error: str | None = None
    unaudited: bool = False

    @cached_property
    def authority_turns(self) -> list[str]:
        return [] if self.authority is None else self.authority.user_input_ids()

    @cached_property
    def projection_turns(self) -> list[str]:
        return [] if self.row is None else self.row.user_input_ids()

    @cached_property
    def authority_turn_set(self) -> frozenset[str]:
        return frozenset(self.authority_turns)

    @cached_property
    def projection_turn_set(self) -> frozenset[str]:
        return frozenset(self.projection_turns)

    @cached_property
    def receipt_jsons(self) -> tuple[dict[str, object], ...]:
        """The receipts as the history records them (``Receipt.to_json``); read-only."""
        return tuple(r.to_json() for r in self.receipts)

    @cached_property
    def serial(self) -> int:
        """A number no other ``SessionState`` of this process has: a key for this (immutable)
        object that is never reused, unlike ``id()``."""
        return next(_SERIALS)

    @cached_property
    def memo(self) -> dict[str, str | None]:
        """Verdicts of checks that depend on this session state alone, by checker name.

        The state is immutable, so a verdict computed once holds for every capture that
        shares this object (see ``Capturer``)."""
        return {}

    @property
    def lag(self) -> int:
        return len(self.authority_turns) - len(self.projection_turns)

    def same_as(self, other: SessionState) -> bool:
        """Cheap equality (decoded documents are shared through the decode cache)."""
        if self is other:
            return True
        return (
            self.authority is other.authority
            and self.row is other.row
            and self.runtime_state == other.runtime_state
            and self.active_run == other.active_run
            and self.receipts == other.receipts
            and self.inputs == other.inputs
            and self.row_error == other.row_error
            and self.unaudited == other.unaudited
        )

    def fingerprint(self) -> dict[str, object]:
        return dict(self._fingerprint)

    @cached_property
    def _fingerprint(self) -> dict[str, object]:
        return {
            "authority": None if self.authority is None else _doc_print(self.authority),
            "state": self.runtime_state,
            "active_run": self.active_run,
            "receipts": list(self.receipt_jsons),
            "inputs": [[i.input_id, i.state.value, i.run_id] for i in self.inputs],
            "row": None if self.row is None else _doc_print(self.row),
            "row_error": self.row_error,
            "unaudited": self.unaudited,
        }


def _doc_print(session: Session) -> dict[str, object]:
    return {
        "revision": session.revision,
        "lifecycle": session.lifecycle.value,
        "messages": len(session.messages),
        "rewrites": [c.digest for c in session.rewrites],
        "turns": session.user_input_ids(),
    }


@dataclass(frozen=True)
class WorldState:
    index: int
    label: str
    phase: str
    """``step``, ``crashed``, ``restarted``, ``recovered``, ``final``, ``idempotent``."""
    events: int
    """How many history events had been recorded when this state was captured."""
    sessions: dict[str, SessionState] = field(default_factory=dict)
    error: str | None = None
    """Set when the stores could not be read (a damaged file): invariants skip the state."""
    extra_ids: tuple[str, ...] = ()
    unlocked: tuple[str, ...] = ()
    """Store files the process holds a connection to but no fcntl lock on (SQLite only)."""
    misfired: tuple[str, ...] = ()
    """Unknown fault sites, or sites passed without a session, so far (``HarnessFaults``)."""

    def same_as(self, other: WorldState) -> bool:
        if self.error is not None or other.error is not None or self.events != other.events:
            return False
        if self.unlocked != other.unlocked or self.misfired != other.misfired:
            return False
        if self.extra_ids != other.extra_ids or self.sessions.keys() != other.sessions.keys():
            return False
        theirs = other.sessions
        for sid, s in self.sessions.items():
            if s is not theirs[sid] and not s.same_as(theirs[sid]):
                return False
        return True

    def fingerprint(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "error": self.error,
            "sessions": {sid: s.fingerprint() for sid, s in sorted(self.sessions.items())},
            "extra": list(self.extra_ids),
            **({"unlocked": list(self.unlocked)} if self.unlocked else {}),
            **({"misfired": list(self.misfired)} if self.misfired else {}),
        }

    def digest(self) -> str:
        data = json.dumps(self.fingerprint(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(data.encode()).hexdigest()


def _valid(session_id: str) -> bool:
    try:
        validate_session_id(session_id)
    except InvalidSessionId:
        return False
    return True


CACHE_LIMIT = 1024
"""Entries per shared table (decoded documents, interned session states) before it is reset."""

_DOCS: dict[bytes, Session] = {}
_STATES: dict[tuple[object, ...], SessionState] = {}


def _remember(table: dict[K, V], key: K, value: V) -> None:
    if len(table) >= CACHE_LIMIT:
        table.clear()
    table[key] = value


class Capturer:
    def __init__(self, runtime_backed: dict[str, bool]) -> None:
        self.runtime_backed = runtime_backed
        self.names = frozenset(runtime_backed)
        self.ids = [(sid, rb) for sid, rb in sorted(runtime_backed.items()) if _valid(sid)]
        self._last: dict[str, tuple[tuple[object, ...], SessionState]] = {}

    def decode(self, data: bytes) -> Session:
        session = _DOCS.get(data)
        if session is None:
            session = decode_session(data)
            _remember(_DOCS, data, session)
        return session

    def capture(
        self, stores: Stores, index: int, label: str, phase: str, events: int
    ) -> WorldState:
        disk = getattr(stores.runtime, "disk", None)
        if isinstance(disk, MemoryDisk):
            return self.capture_disk(disk, index, label, phase, events)
        try:
            sessions = {sid: self.session(stores, sid, rb) for sid, rb in self.ids}
            extra = self._extra(stores)
        except SessionCoreError as exc:
            return WorldState(index, label, phase, events, {}, f"{type(exc).__name__}: {exc}")
        return WorldState(index, label, phase, events, sessions, None, extra)

    def capture_disk(
        self, disk: MemoryDisk, index: int, label: str, phase: str, events: int
    ) -> WorldState:
        """Fast path for the memory backend: read the durable dicts in one lock."""
        with disk.lock:
            sessions = {sid: self._disk_session(disk, sid, rb) for sid, rb in self.ids}
            extra = {*disk.runtime, *disk.rows} - self.names
        return WorldState(index, label, phase, events, sessions, None, tuple(sorted(extra)))

    def _disk_session(self, disk: MemoryDisk, sid: str, runtime_backed: bool) -> SessionState:
        """The session's state, interned by the durable data it is built from."""
        key = (
            sid,
            runtime_backed,
            disk.rows.get(sid),
            disk.runtime.get(sid),
            tuple(disk.receipts.get(sid, ())),
            tuple(disk.inputs.get(sid, {}).values()),
            tuple(disk.audit.get(sid, ())),
        )
        last = self._last.get(sid)
        if last is not None and last[0] == key:  # mostly the very same objects: no hashing
            return last[1]
        state = _STATES.get(key)
        if state is None:
            state = self._build(*key)
            _remember(_STATES, key, state)
        self._last[sid] = (key, state)
        return state

    def _build(
        self,
        sid: str,
        runtime_backed: bool,
        data: bytes | None,
        record: RuntimeRecord | None,
        receipts: tuple[Receipt, ...],
        inputs: tuple[InputRecord, ...],
        audit: tuple[AuditEvent, ...],
    ) -> SessionState:
        row, row_error = None, None
        if data is not None:
            try:
                row = self.decode(data)
            except SessionCoreError as exc:
                row_error = type(exc).__name__
        unaudited = row is not None and unaudited_index(row, list(audit)) is not None
        if not runtime_backed or record is None:
            authority = row if not runtime_backed else None
            return SessionState(
                sid, runtime_backed, authority, None, None, (), (), row, row_error, unaudited
            )
        return SessionState(
            sid,
            runtime_backed,
            None if record.snapshot is None else self.decode(record.snapshot),
            record.state.value,
            record.active_run,
            receipts,
            inputs,
            row,
            row_error,
            unaudited,
        )

    def _extra(self, stores: Stores) -> tuple[str, ...]:
        ids = set(stores.runtime.session_ids())
        with contextlib.suppress(UndecodableRow):
            ids |= {r.session_id for r in stores.sessions.list()}
        return tuple(sorted(ids - self.names))

    def session(self, stores: Stores, sid: str, runtime_backed: bool) -> SessionState:
        rt = stores.runtime
        row, row_error = self._row(stores, sid)
        unaudited = row is not None and unaudited_index(row, stores.audit.events(sid)) is not None
        state = rt.runtime_state(sid)
        if not runtime_backed or state is None:
            authority = row if not runtime_backed else None
            return SessionState(
                sid, runtime_backed, authority, None, None, (), (), row, row_error, unaudited
            )
        data = rt.load_snapshot(sid)
        return SessionState(
            sid,
            runtime_backed,
            None if data is None else self.decode(data),
            state.value,
            rt.active_run(sid),
            tuple(rt.receipts(sid)),
            tuple(rt.inputs(sid)),
            row,
            row_error,
            unaudited,
        )

    def _row(self, stores: Stores, sid: str) -> tuple[Session | None, str | None]:
        try:
            found = stores.sessions.load_row(sid)
        except SessionCoreError as exc:
            return None, type(exc).__name__
        if found is None:
            return None, None
        return self.decode(found.data), None


__all__ = ["Capturer", "SessionState", "WorldState"]
