"""Concurrent writers on the same SQLite files (threads, each with its own connections)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

from session_core.errors import (
    ContinuityViolation,
    MonotonicityViolation,
    SessionBusy,
    SessionExists,
)
from session_core.factory import sqlite_service
from session_core.model import Message
from session_core.outcomes import Failed, committed
from session_core.readapi import SessionReader
from session_core.service import SessionService


def _turn_with_retry(svc: SessionService, sid: str, input_id: str) -> bool:
    for attempt in range(500):
        outcome = svc.run_turn(sid, "hi", input_id=f"{input_id}.a{attempt}")
        if committed(outcome):
            return True
        if not (isinstance(outcome, Failed) and isinstance(outcome.cause, SessionBusy)):
            raise AssertionError(outcome)
        time.sleep(0.002)
    return False


def test_threads_on_shared_and_own_sessions(tmp_path: Path) -> None:
    setup = sqlite_service(tmp_path)
    setup.create("shared")
    setup.close()
    acked: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        svc = sqlite_service(tmp_path)
        try:
            with contextlib.suppress(SessionExists):
                svc.create(f"own-{n}")
            for t in range(6):
                for sid in ("shared", f"own-{n}"):
                    input_id = f"w{n}.t{t}.{sid}"
                    if _turn_with_retry(svc, sid, input_id):
                        with lock:
                            acked.append((sid, input_id))
        except BaseException as exc:
            errors.append(exc)
        finally:
            svc.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(acked) == 4 * 6 * 2
    svc = sqlite_service(tmp_path)
    assert svc.recover().ok
    for sid, input_id in acked:
        ids = svc.read(sid).user_input_ids()
        assert sum(1 for i in ids if i.startswith(input_id + ".a")) == 1, (sid, input_id)
    for view in svc.reader.list_sessions():
        assert view.in_sync and view.authority.duplicates == 0
    assert svc.reader.view("shared").authority.turns == 24
    svc.close()


def test_concurrent_projection_appenders_see_every_append_once(tmp_path: Path) -> None:
    """Bug 20: N appenders through save() on one row; CAS/guards never leave orphans."""
    svc = sqlite_service(tmp_path, runtime_backed=False)
    svc.create("s1")
    svc.close()
    errors: list[BaseException] = []

    def appender(n: int) -> None:
        local = sqlite_service(tmp_path, runtime_backed=False)
        try:
            for i in range(8):
                while True:
                    row = local.sessions.load("s1")
                    assert row is not None
                    try:
                        local.sessions.save(row.append(Message("user", f"{n}-{i}", id=f"{n}-{i}")))
                        break
                    except (ContinuityViolation, MonotonicityViolation):
                        continue  # a stale appender fails, the row is untouched: reload
        except BaseException as exc:
            errors.append(exc)
        finally:
            local.close()

    threads = [threading.Thread(target=appender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    check = sqlite_service(tmp_path, runtime_backed=False)
    row = check.sessions.load("s1")
    assert row is not None
    ids = [m.id for m in row.messages if m.role == "user"]
    assert sorted(ids) == sorted(f"{n}-{i}" for n in range(4) for i in range(8))
    assert SessionReader(check.sessions, check.audit).view("s1").authority.duplicates == 0
    check.close()
