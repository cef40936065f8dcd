"""The writer lock between processes (``session_core.stores.writer_lock``): a process's write
transaction on a store file waits for another process's ``flock`` on the file's lock, wakes
when it is released, is not blocked by a holder that was killed, and writing still works where
the lock file cannot be opened. Real processes, real SQLite files."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

from session_core.factory import sqlite_service, sqlite_stores
from session_core.outcomes import Completed
from session_core.service import SessionService
from session_core.stores.sqlite_dir import RUNTIME_FILE, SESSIONS_FILE
from session_core.stores.writer_lock import lock_path

HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


def _hold(lock: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def _turn_in_thread(svc: SessionService, sid: str) -> tuple[threading.Thread, list[object]]:
    outcomes: list[object] = []

    def turn() -> None:
        try:
            outcomes.append(svc.run_turn(sid, "hello"))
        finally:
            svc.close()

    thread = threading.Thread(target=turn, daemon=True)
    thread.start()
    return thread, outcomes


def _created(data: Path) -> None:
    svc = sqlite_service(data, mode="create")
    svc.create("s1")
    svc.close()


def test_each_store_file_has_its_writer_lock_beside_it(tmp_path: Path) -> None:
    _created(tmp_path)
    for name in (RUNTIME_FILE, SESSIONS_FILE):
        lock = lock_path(str(tmp_path / name))
        assert lock == tmp_path / f".{name}.writer.lock"
        assert lock.is_file() and lock.stat().st_size == 0


def test_a_write_waits_for_another_process_holding_the_lock(tmp_path: Path) -> None:
    _created(tmp_path)
    svc = sqlite_service(tmp_path)  # opening writes too (it checks the schema in a transaction)
    child = _hold(lock_path(str(tmp_path / RUNTIME_FILE)))
    try:
        thread, outcomes = _turn_in_thread(svc, "s1")
        thread.join(1.0)
        assert thread.is_alive() and outcomes == []  # blocked behind the other process
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.flush()
        thread.join(30)
        assert not thread.is_alive()
        assert [type(o) for o in outcomes] == [Completed]
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_blocks_no_one(tmp_path: Path) -> None:
    _created(tmp_path)
    svc = sqlite_service(tmp_path)
    child = _hold(lock_path(str(tmp_path / RUNTIME_FILE)))
    thread, outcomes = _turn_in_thread(svc, "s1")
    thread.join(0.5)
    assert thread.is_alive()
    child.send_signal(signal.SIGKILL)
    child.wait()
    thread.join(30)
    assert [type(o) for o in outcomes] == [Completed]


def test_writes_go_on_where_the_lock_file_cannot_be_opened(tmp_path: Path) -> None:
    _created(tmp_path)
    for name in (RUNTIME_FILE, SESSIONS_FILE):
        lock = lock_path(str(tmp_path / name))
        lock.unlink()
        lock.mkdir()  # os.open(O_RDWR) fails: EISDIR
    svc = sqlite_service(tmp_path)
    try:
        assert isinstance(svc.run_turn("s1", "hello"), Completed)
    finally:
        svc.close()


def test_a_read_only_open_creates_no_lock_file(tmp_path: Path) -> None:
    _created(tmp_path)
    for name in (RUNTIME_FILE, SESSIONS_FILE):
        lock_path(str(tmp_path / name)).unlink()
    stores = sqlite_stores(tmp_path, mode="read-only")
    try:
        assert stores.sessions.load("s1") is not None
        assert stores.runtime.load_snapshot("s1") is not None
    finally:
        stores.runtime.close()
        stores.sessions.close()
    assert not any(p.name.endswith(".writer.lock") for p in tmp_path.iterdir())
