"""Deterministic group-commit batches for a ``concurrent: {batch: true}`` block (SQLite).

session_core's group commit (``session_core.stores.sqlite_batch``) shares one transaction and
one ``COMMIT`` among the writers of a file that arrive while another is committing. Which
writers share a batch depends on thread timing, so the harness forms the batches itself: while
the block runs, every write transaction of the live stores is parked at a barrier, and once
every thread of the block is parked (or done) the pending writes of each file (runtime first)
are committed as one batch, members in process order, by the core's batch runner
(``Core.batch_runner``, session_core's ``run_batch`` unless a mutant replaces it). So the
batches are the same on every run and every crash point inside them can be explored:

* ``sqlite.batch.<file>`` after each member's writes, inside the open transaction (session:
  the member's): ``crash`` (the process dies before the ``COMMIT``: nothing of the batch is
  durable, nobody is acknowledged) or ``error`` (that member's writes fail: its savepoint is
  rolled back, the others commit);
* ``sqlite.unsynced.<file>`` / ``sqlite.commit.<file>`` once per batch, after its ``COMMIT``
  and before any member is acknowledged (session: none): ``crash`` (durable, nobody
  acknowledged), ``torn`` (the batch's commit frame never reached the disk: all of it lost),
  ``lost`` (every unsynced write dropped).

A crash stops the process: every parked writer, and every later one, gets ``SimulatedCrash``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from harness.commits import CommitRecorder
from harness.core import BatchRunner
from session_core.errors import SimulatedCrash
from session_core.faults import FaultPoint
from session_core.stores.sqlite_batch import GroupCommitter, WriteRequest, run_batch

T = TypeVar("T")
FILE_ORDER = ("runtime", "sessions")
STUCK_SECONDS = 60.0
SYNC_FULL = 2


class BarrierStuck(RuntimeError):
    """A thread of a batched block waited too long (a harness bug, never a finding)."""


@dataclass(eq=False)
class Member:
    request: WriteRequest
    process: int
    session: str | None
    level: list[int] = field(default_factory=list)
    """``PRAGMA synchronous`` inside the batch's transaction (what its ``COMMIT`` used);
    empty while the member's writes are not (or no longer) in the batch."""
    settled: bool = False
    crashed: bool = False
    commit_failed: bool = False
    """The batch's ``COMMIT`` failed (``commit-error``): noted for the member's operation."""


@dataclass(eq=False)
class Pending:
    """The writes of one file parked at the barrier."""

    name: str
    conn: sqlite3.Connection
    lock: threading.RLock
    members: list[Member] = field(default_factory=list)


class BatchBarrier:
    def __init__(
        self,
        recorder: CommitRecorder,
        faults: FaultPoint,
        runner: BatchRunner,
        participants: int,
    ) -> None:
        self.recorder = recorder
        self.faults = faults
        self.runner = runner
        self.running = participants
        self.cond = threading.Condition()
        self.files: dict[str, Pending] = {}
        self.local = threading.local()
        self.crashed: str | None = None
        self.batches: list[tuple[str, tuple[str | None, ...]]] = []
        """Each batch committed: its file and its members' sessions (tests read it)."""

    # --- the threads of the block --------------------------------------------------------

    def enter(self, process: int) -> None:
        self.local.process = process

    def leave(self) -> None:
        with self.cond:
            self.running -= 1
            self._maybe_commit()

    # --- hooks called by the commit recorder ----------------------------------------------

    def transaction(
        self,
        plain: Callable[..., object],
        name: str,
        fn: Callable[[sqlite3.Connection], T],
        session_id: str | None,
        options: dict[str, bool],
    ) -> T:
        """One write of a member: ``fn`` runs inside the batch's transaction, then
        ``sqlite.batch.<name>`` is passed there (in the committing thread, in member order)."""
        level: list[int] = []

        def body(conn: sqlite3.Connection) -> T:
            result = fn(conn)
            synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
            try:
                self.faults.hit(f"sqlite.batch.{name}", session_id)
            except SimulatedCrash:
                conn.execute("ROLLBACK")  # the process dies before COMMIT: the whole batch
                raise
            level.append(synchronous)  # the member's writes stay in the batch
            return result

        self.local.member = (session_id, level)
        return plain(body, session_id, **options)  # type: ignore[return-value]

    def submit(
        self, name: str, conn: sqlite3.Connection, lock: threading.RLock
    ) -> Callable[[WriteRequest], None]:
        """The ``submit`` of the file's group committer while the block runs."""

        def park(request: WriteRequest) -> None:
            if not hasattr(self.local, "process"):
                raise BarrierStuck("a write from outside the batched block's threads")
            session_id, level = self.local.member
            member = Member(request, self.local.process, session_id, level)
            with self.cond:
                if self.crashed is not None:
                    raise SimulatedCrash(self.crashed)
                pending = self.files.setdefault(name, Pending(name, conn, lock))
                pending.members.append(member)
                self._maybe_commit()
                while not member.settled:
                    if not self.cond.wait(STUCK_SECONDS):
                        raise BarrierStuck(f"a write on {name} waited {STUCK_SECONDS:.0f} s")
            if member.crashed:
                raise SimulatedCrash(self.crashed or f"sqlite.batch.{name}")
            note = getattr(self.faults, "note_commit_failed", None)
            if member.commit_failed and note is not None:
                note()  # in the member's own thread: its operation is the one marked

        return park

    # --- committing -------------------------------------------------------------------------

    def _parked(self) -> int:
        return sum(len(p.members) for p in self.files.values())

    def _maybe_commit(self) -> None:
        """With ``cond`` held: once every running thread is parked, commit each file's batch."""
        if self._parked() == 0 or self._parked() < self.running:
            return
        for name in sorted(self.files, key=FILE_ORDER.index):
            pending = self.files.pop(name)
            members = sorted(pending.members, key=lambda m: m.process)
            if self.crashed is None:
                self._commit(pending, members)
            for member in members:
                member.crashed = member.crashed or self.crashed is not None
                member.settled = True
        self.cond.notify_all()

    def _commit(self, pending: Pending, members: list[Member]) -> None:
        batch = [m.request for m in members]
        failures = getattr(pending.conn, "failures", 0)
        with pending.lock:
            self.runner(pending.conn, batch)
        if getattr(pending.conn, "failures", 0) > failures:
            for member in members:  # those whose writes were in it (their own fn returned)
                member.commit_failed = bool(member.level)
        crash = getattr(self.faults, "crashed_at", None)
        if crash is not None:
            self.crashed = str(crash)
            return
        if not any(r.committed for r in batch):
            return
        self.batches.append((pending.name, tuple(m.session for m in members)))
        levels = [lv for m in members for lv in m.level]
        self.recorder.committed(pending.name, bool(levels) and levels[-1] >= SYNC_FULL)
        try:
            self.recorder.passed(pending.name, None, self.faults)
        except SimulatedCrash as exc:
            self.crashed = exc.site


@contextmanager
def batched(
    recorder: CommitRecorder,
    faults: FaultPoint,
    participants: int,
    runner: BatchRunner | None = None,
) -> Iterator[BatchBarrier]:
    """Park the live stores' writes at a barrier for the block (see the module docstring)."""
    barrier = BatchBarrier(recorder, faults, runner or run_batch, participants)
    committers: list[GroupCommitter] = []
    for name, db in recorder.databases:
        shared = db._current()  # the file's connection and group committer (one per process)
        committer = shared.committer
        if all(committer is not c for c in committers):
            # the committer's connection: ``harness.commits.FailingCommits`` (commit-error)
            committer.submit = barrier.submit(name, committer.conn, shared.lock)  # type: ignore[method-assign,assignment]
            committers.append(committer)
    recorder.barrier = barrier.transaction
    try:
        yield barrier
    finally:
        recorder.barrier = None
        for committer in committers:
            vars(committer).pop("submit", None)


__all__ = ["BarrierStuck", "BatchBarrier", "batched"]
