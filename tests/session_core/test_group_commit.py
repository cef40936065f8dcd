"""Group commit on real SQLite files: concurrent turns of many sessions share transactions
(one ``COMMIT`` per file per batch), each acknowledged only after its batch is durable.

Crash points are the existing fault sites (``session_core.faults``), hit by one of several
threads while the others' writes are queued in or committed by the same batch; and a real
child process running 20 threads is SIGKILLed mid-batch.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from session_core.errors import SimulatedCrash
from session_core.factory import sqlite_service
from session_core.faults import FaultInjector
from session_core.outcomes import Completed, committed, outcome_name
from session_core.service import SessionService
from session_core.stores.sqlite_batch import GroupCommitter, WriteRequest, run_batch
from session_core.stores.sqlite_db import SqliteDatabase

SESSIONS = 6


def _service(data: Path, faults: FaultInjector | None = None) -> SessionService:
    return sqlite_service(data, faults) if faults is not None else sqlite_service(data)


def _committer(svc: SessionService) -> GroupCommitter:
    db = getattr(svc.runtime, "db", None)
    assert isinstance(db, SqliteDatabase)
    return db._current().committer


def _turns(svc: SessionService, sid: str, turns: int, acks: list[tuple[str, str, str]]) -> None:
    for n in range(turns):
        iid = f"{sid}.{n}"
        try:
            outcome = svc.run_turn(sid, f"text {n}", input_id=iid)
        except SimulatedCrash:
            return
        acks.append((sid, iid, outcome_name(outcome)))


def _run_threads(svc: SessionService, turns: int) -> list[tuple[str, str, str]]:
    acks: list[tuple[str, str, str]] = []
    threads = [
        threading.Thread(target=_turns, args=(svc, f"s{i}", turns, acks)) for i in range(SESSIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acks


def _created(data: Path) -> None:
    svc = sqlite_service(data)
    for i in range(SESSIONS):
        assert committed(svc.create(f"s{i}"))
    svc.close()


def test_writers_queued_behind_a_commit_share_the_next_one(tmp_path: Path) -> None:
    """While a commit holds the connection (a slow fsync), every writer that arrives queues;
    they all commit together as the next batch, each returning only after it."""
    conn = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    lock = threading.RLock()
    committer = GroupCommitter(conn, lock)
    writers = 8

    def insert(key: int) -> WriteRequest:
        return WriteRequest(lambda c: c.execute("INSERT INTO t VALUES (?)", (key,)), True, False)

    requests = [insert(k) for k in range(writers)]
    threads = [threading.Thread(target=committer.submit, args=(r,)) for r in requests]
    with lock:  # the first writer leads and waits here; the others queue behind it
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while committer.queued() < writers - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert committer.queued() == writers - 1
        assert not any(r.committed for r in requests)  # nobody acknowledged before the commit
    for thread in threads:
        thread.join()
    assert all(r.committed and r.error is None for r in requests)
    assert (committer.batches, committer.largest) == (2, writers - 1)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == writers


def test_concurrent_turns_share_commits(tmp_path: Path) -> None:
    """20 threads, one session each: fewer runtime-file transactions than writes."""
    data = tmp_path / "data"
    svc = sqlite_service(data)
    sids = [f"g{i}" for i in range(20)]
    for sid in sids:
        assert committed(svc.create(sid))
    committer = _committer(svc)
    before = (committer.batches, committer.members)
    acks: list[tuple[str, str, str]] = []
    threads = [threading.Thread(target=_turns, args=(svc, sid, 3, acks)) for sid in sids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({a[2] for a in acks}) == ["Completed"] and len(acks) == 60
    batches, members = committer.batches - before[0], committer.members - before[1]
    assert members == 3 * 60  # accept + begin (one transaction), checkpoint, commit per turn
    assert batches < members
    for sid in sids:
        assert svc.read(sid).user_input_ids() == [f"{sid}.{n}" for n in range(3)]
        assert svc.sessions.load(sid) == svc.read(sid)
    svc.close()


def test_member_error_rolls_back_only_that_member(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    conn.execute("CREATE TABLE sc_stamp (writes INTEGER)")
    conn.execute("INSERT INTO sc_stamp VALUES (0)")

    def insert(key: str) -> WriteRequest:
        return WriteRequest(lambda c: c.execute("INSERT INTO t VALUES (?)", (key,)), True, True)

    def fail(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t VALUES ('bad')")
        raise ValueError("guard")

    batch = [insert("a"), WriteRequest(fail, True, True), insert("b")]
    run_batch(conn, batch)
    assert [r.committed for r in batch] == [True, False, True]
    assert isinstance(batch[1].error, ValueError)
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["a", "b"]
    assert conn.execute("SELECT writes FROM sc_stamp").fetchone()[0] == 1
    alone = WriteRequest(fail, True, True)  # a batch of one: no savepoint, all rolled back
    run_batch(conn, [alone])
    assert isinstance(alone.error, ValueError) and not alone.committed
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY k")] == ["a", "b"]
    assert not conn.in_transaction


def test_failed_batch_commit_is_indeterminate_for_every_member(tmp_path: Path) -> None:
    """A COMMIT that fails (here: a deferred foreign key violated at commit) gives every
    member of the batch ``indeterminate``, never a definite failure or success."""
    conn = sqlite3.connect(tmp_path / "t.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE p (k TEXT PRIMARY KEY)")
    conn.execute("CREATE TABLE c (k TEXT REFERENCES p(k) DEFERRABLE INITIALLY DEFERRED, v TEXT)")
    conn.execute("PRAGMA foreign_keys = ON")
    batch = [
        WriteRequest(lambda c: c.execute("INSERT INTO p VALUES ('x')"), True, False),
        WriteRequest(lambda c: c.execute("INSERT INTO c VALUES ('ghost', 'v')"), True, False),
    ]
    run_batch(conn, batch)
    assert [r.indeterminate for r in batch] == [True, True]
    assert not any(r.committed for r in batch)
    assert conn.execute("SELECT count(*) FROM p").fetchone()[0] == 0
    assert not conn.in_transaction


CRASH_SITES = [
    "runtime.accept_input.before",
    "runtime.accept_input.after",
    "runtime.begin_run.before",
    "runtime.begin_run.after",
    "runtime.record_checkpoint.after",
    "runtime.atomic_apply.before",
    "runtime.atomic_apply.after",
    "sessions.save.before",
    "sessions.save.after",
    "turn.after_commit",
    "turn.resolve",
]


@pytest.mark.parametrize("site", CRASH_SITES)
def test_batch_interrupted_at_each_crash_point(tmp_path: Path, site: str) -> None:
    """Several threads run turns; one of them crashes at ``site`` (on its 2nd turn) while the
    others' writes share its batches. After a restart and recovery: every acknowledged turn
    is in the authority exactly once, nothing unacknowledged is half-visible, and the
    projection equals the authority for every session."""
    data = tmp_path / "data"
    _created(data)
    faults = FaultInjector()
    svc = sqlite_service(data, faults, mode="open")
    faults.arm(site, "crash", session_id="s0", skip=1)
    acks = _run_threads(svc, 3)
    svc.close()
    assert faults.crashed_at is not None
    svc = sqlite_service(data, mode="open")
    report = svc.recover()
    assert report.errors == []
    for sid, iid, name in acks:
        ids = svc.read(sid).user_input_ids()
        if name.startswith("Completed"):
            assert ids.count(iid) == 1, (site, sid, iid, ids)
    for i in range(SESSIONS):
        sid = f"s{i}"
        ids = svc.read(sid).user_input_ids()
        assert len(ids) == len(set(ids)), (site, ids)
        assert svc.sessions.load(sid) == svc.read(sid), (site, sid)
    svc.close()


CHILD = """
import json, sys, threading
from session_core.factory import sqlite_service
from session_core.outcomes import outcome_name
svc = sqlite_service(sys.argv[1], mode="open")
lock = threading.Lock()
def turns(sid):
    n = 0
    while True:
        iid = f"{sid}.{n}"
        name = outcome_name(svc.run_turn(sid, f"text {n}", input_id=iid))
        with lock:
            print(json.dumps([sid, iid, name]), flush=True)
        n += 1
for i in range(int(sys.argv[2])):
    threading.Thread(target=turns, args=(f"s{i}",), daemon=True).start()
threading.Event().wait()
"""


def test_acknowledged_turns_survive_sigkill_mid_batch(tmp_path: Path) -> None:
    """A real process with 20 threads committing in shared batches is SIGKILLed; every turn
    it acknowledged is durable exactly once after reopening, and recovery converges."""
    data = tmp_path / "data"
    sessions = 20
    svc = sqlite_service(data)
    for i in range(sessions):
        assert committed(svc.create(f"s{i}"))
    svc.close()
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data), str(sessions)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acks = []
    for line in proc.stdout:
        acks.append(json.loads(line))
        if len(acks) >= 60:
            break
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=60)
    acks.extend(json.loads(line) for line in rest.splitlines() if line.strip())
    assert proc.returncode == -signal.SIGKILL
    svc = sqlite_service(data, mode="open")
    assert svc.recover().errors == []
    for sid, iid, name in acks:
        assert name == "Completed", (sid, iid, name)
        assert svc.read(sid).user_input_ids().count(iid) == 1, (sid, iid)
    for i in range(sessions):
        sid = f"s{i}"
        assert svc.sessions.load(sid) == svc.read(sid)
    again = svc.run_turn("s0", "after the kill", input_id="late")
    assert isinstance(again, Completed)
    svc.close()
