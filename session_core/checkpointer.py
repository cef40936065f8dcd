"""The store checkpointer: per-session gates, in-run checkpoints, the post-commit projection.

* Every session has a ``Gate`` (a lock, a cancelled flag, the last checkpointed dedupe key).
  ``cancel`` takes the gate lock; once cancelled no projection write happens through the gate
  and a post-commit projection raises ``ProjectionCancelled`` (retryable), never succeeds.
* In-run checkpoints of runtime-backed runs go to the **authority** as provisional checkpoint
  receipts (``RuntimeStore.record_checkpoint``), never to the projection. Runtime-less sessions
  checkpoint into their row (which is their authority).
* Checkpoints are deduplicated by **revision** (``dedupe_key``), never by length.
* A gate created for a session whose row is Archived starts cancelled (archived is absorbing).
* ``with gate.lock`` passes the fault site ``gate.lock`` (the session's) before it acquires:
  an interleaving point, so a harness can land a concurrent cancel right before the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from session_core.codec import decode_session, derive_receipt, encode_session
from session_core.errors import (
    ChecksumMismatch,
    ProjectionCancelled,
    SnapshotIdentityMismatch,
    UndecodableRow,
)
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.model import Receipt, RuntimeState, Session
from session_core.projection import Projector
from session_core.stores.base import RuntimeStore, SessionStore


class GateLock:
    """A gate's reentrant lock. ``with`` passes the fault site ``gate.lock`` before acquiring
    (nothing is held there yet: what a concurrent cancel can interleave with); ``acquire`` and
    ``release`` pass no site."""

    __slots__ = ("_lock", "faults", "session_id")

    def __init__(self, session_id: str, faults: FaultPoint = NO_FAULTS) -> None:
        self._lock = threading.RLock()
        self.session_id = session_id
        self.faults = faults

    def __enter__(self) -> bool:
        self.faults.hit("gate.lock", self.session_id)
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()


@dataclass
class Gate:
    session_id: str
    cancelled: bool = False
    last_key: str | None = None
    faults: FaultPoint = field(default=NO_FAULTS, repr=False, compare=False)
    lock: GateLock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.lock = GateLock(self.session_id, self.faults)


@dataclass
class RunContext:
    """One run: its id, inputs, and the dense checkpoint receipt count so far."""

    session_id: str
    run_id: str | None
    input_ids: tuple[str, ...]
    checkpoints: list[Receipt] = field(default_factory=list)

    @property
    def runtime_backed(self) -> bool:
        return self.run_id is not None


class StoreCheckpointer:
    def __init__(
        self,
        sessions: SessionStore,
        projector: Projector,
        runtime: RuntimeStore | None = None,
        faults: FaultPoint = NO_FAULTS,
    ) -> None:
        self.sessions = sessions
        self.projector = projector
        self.runtime = runtime
        self.faults = faults
        self._gates: dict[str, Gate] = {}
        self._lock = threading.Lock()

    # --- gates ---------------------------------------------------------------------------

    def gate(self, session_id: str) -> Gate:
        with self._lock:
            gate = self._gates.get(session_id)
            if gate is None:
                gate = self._gates[session_id] = self.new_gate(session_id)
            return gate

    def new_gate(self, session_id: str) -> Gate:
        """A recreated gate of an archived session starts cancelled."""
        gate = Gate(session_id, faults=self.faults)
        try:
            row = self.sessions.load(session_id)
        except (ChecksumMismatch, UndecodableRow):
            if self.runtime is None:
                raise  # the row is the only copy
            row = None  # quarantined and rebuilt by the projection; retired says archived
        retired = (
            row is None
            and self.runtime is not None
            and (self.runtime.runtime_state(session_id) is RuntimeState.RETIRED)
        )
        if (row is not None and row.archived) or retired:
            gate.cancelled = True
        return gate

    def forget(self, session_id: str) -> None:
        """Drop a gate (e.g. after archive). A later ``gate()`` recreates it, cancelled."""
        with self._lock:
            self._gates.pop(session_id, None)

    @contextmanager
    def locked(self, session_id: str) -> Iterator[Gate]:
        """Hold the session's gate lock (archive, recovery: I10 serialization)."""
        gate = self.gate(session_id)
        with gate.lock:
            yield gate

    def cancel(self, session_id: str) -> None:
        with self.locked(session_id) as gate:
            gate.cancelled = True

    def dedupe_key(self, session: Session) -> str:
        """Checkpoints are deduplicated by revision, never by message count."""
        return session.revision

    def begin(self, session_id: str, base: Session) -> None:
        """A run starts from ``base``: an unchanged transcript is not checkpointed."""
        with self.locked(session_id) as gate:
            gate.last_key = self.dedupe_key(base)

    # --- in-run checkpoints --------------------------------------------------------------

    def checkpoint(self, live: Session, run: RunContext) -> bool:
        """Checkpoint ``live``; False when skipped (cancelled gate or same dedupe key)."""
        with self.locked(live.id) as gate:
            if gate.cancelled:
                return False
            key = self.dedupe_key(live)
            if key == gate.last_key:
                return False
            if run.runtime_backed:
                self.checkpoint_authority(live, run)
            else:
                self.checkpoint_row(live)
            gate.last_key = key
            return True

    def checkpoint_authority(self, live: Session, run: RunContext) -> None:
        """Provisional checkpoint receipt ``len(checkpoints)+1`` in the runtime store."""
        assert self.runtime is not None and run.run_id is not None
        tail = encode_session(live)
        receipt = derive_receipt(
            tail,
            session_id=live.id,
            run_id=run.run_id,
            sequence=len(run.checkpoints) + 1,
            kind="checkpoint",
            input_ids=run.input_ids,
        )
        self.runtime.record_checkpoint(receipt, tail)
        run.checkpoints.append(receipt)

    def checkpoint_row(self, live: Session) -> None:
        """Runtime-less: the row is the authority; save it (rewrite chain when needed)."""
        self.projector.project(live)

    # --- post-commit projection ----------------------------------------------------------

    def project_committed(self, session_id: str, snapshot: bytes) -> Session:
        """Project committed bytes; ``ProjectionCancelled`` (retryable) on a cancelled gate."""
        target = decode_session(snapshot)
        if target.id != session_id:
            raise SnapshotIdentityMismatch(
                f"post-commit hook given a snapshot of {target.id!r}", session_id=session_id
            )
        with self.locked(session_id) as gate:
            if gate.cancelled:
                raise ProjectionCancelled(
                    "checkpointer gate cancelled; recovery re-projects", session_id=session_id
                )
            stored = self.projector.project(target)
            gate.last_key = self.dedupe_key(stored)
            return stored
