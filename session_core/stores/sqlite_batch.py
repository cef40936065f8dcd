"""Group commit: the write transactions that threads of one process start on one SQLite file
while another is committing share one transaction and one ``COMMIT`` (one fsync).

The first writer to arrive leads: it takes every request queued so far and runs them in one
``BEGIN IMMEDIATE`` transaction, each inside its own savepoint, then commits once. Writers that
arrive meanwhile queue up and form the next batch. Every writer returns (is acknowledged) only
after its batch is committed; a lone writer is a batch of one, so nothing waits for company.

Outcomes per member, honest as a single transaction's would be:

* its own function raised: only its savepoint is rolled back, it gets its error (definite);
* an error that ends the whole transaction (SQLite rolls back on some I/O errors) or a failed
  ``BEGIN``: nothing of the batch was applied, every member gets a definite storage error;
* the ``COMMIT`` failed (a failed sync): every member's fate is unknown -> ``indeterminate``.

Between processes, the leader holds the file's ``WriterLock`` for the batch's transaction, so
the next process's leader wakes when it commits instead of polling in SQLite's busy handler.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from session_core.stores.writer_lock import WriterLock


@dataclass(eq=False)
class WriteRequest:
    fn: Callable[[sqlite3.Connection], object]
    sync: bool
    stamp: bool
    result: object = None
    error: BaseException | None = None
    indeterminate: bool = False
    """The batch's ``COMMIT`` failed: the write may be durable or not."""
    committed: bool = False


class GroupCommitter:
    """One per connection (so one per file per process); ``lock`` guards the connection."""

    def __init__(
        self, conn: sqlite3.Connection, lock: threading.RLock, writer: WriterLock | None = None
    ) -> None:
        self.conn = conn
        self.lock = lock
        self.writer = writer
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[WriteRequest] = []
        self._leading = False
        self._settled: set[int] = set()
        self.batches = 0
        self.members = 0
        self.largest = 0

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def submit(self, request: WriteRequest) -> None:
        """Returns once ``request`` is settled (committed, failed or indeterminate)."""
        with self._cond:
            self._queue.append(request)
            while self._leading and id(request) not in self._settled:
                self._cond.wait()
            if id(request) in self._settled:
                self._settled.discard(id(request))
                return
            self._leading = True
            batch, self._queue = self._queue, []
        try:
            with self.lock, nullcontext() if self.writer is None else self.writer.held():
                run_batch(self.conn, batch)
        finally:
            with self._cond:
                self._settled.update(id(r) for r in batch if r is not request)
                self._leading = False
                self.batches += 1
                self.members += len(batch)
                self.largest = max(self.largest, len(batch))
                self._cond.notify_all()


def run_batch(conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
    """One transaction for ``batch``; never raises (each member's outcome is recorded)."""
    sync = any(r.sync for r in batch)
    try:
        level = None if sync else int(conn.execute("PRAGMA synchronous").fetchone()[0])
        if level is not None:
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            _transaction(conn, batch)
        finally:
            if level is not None:  # the connection's own level (FULL unless changed on purpose)
                conn.execute(f"PRAGMA synchronous = {level:d}")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        for request in batch:
            if request.error is None and not request.committed:
                request.error = _batch_failed(exc)


def _transaction(conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    savepoints = len(batch) > 1  # a lone member's error rolls back the whole transaction
    kept: list[WriteRequest] = []
    for request in batch:
        if not conn.in_transaction:  # an earlier member's error ended the transaction
            request.error = _batch_failed(None)
            continue
        if savepoints:
            conn.execute("SAVEPOINT sc_member")
        try:
            request.result = request.fn(conn)
            if savepoints:
                conn.execute("RELEASE sc_member")
            kept.append(request)
        except BaseException as exc:
            request.error = exc
            if conn.in_transaction and savepoints:
                conn.execute("ROLLBACK TO sc_member")
                conn.execute("RELEASE sc_member")
            elif not conn.in_transaction:
                for member in kept:
                    member.error = _batch_failed(exc)
                kept = []
    if not conn.in_transaction:
        return
    if not kept:
        conn.execute("ROLLBACK")
        return
    if any(r.stamp for r in kept):
        conn.execute("UPDATE sc_stamp SET writes = writes + 1")
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        for member in kept:
            member.error, member.indeterminate = exc, True
        return
    for member in kept:
        member.committed = True


def _batch_failed(cause: BaseException | None) -> sqlite3.OperationalError:
    why = "an earlier write of its batch" if cause is None else repr(cause)
    return sqlite3.OperationalError(f"batch rolled back, nothing of this write applied: {why}")
