"""The SQLite commit recorder on real files: commit sites, torn commits, lost unsynced writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from harness.backends import SqliteBackend
from harness.commits import FRAME_HEADER
from session_core.factory import Stores
from session_core.faults import FaultInjector
from session_core.service import SessionService
from session_core.stores.sqlite import SqliteRuntimeStore


@pytest.fixture
def backend() -> Iterator[SqliteBackend]:
    made = SqliteBackend()
    yield made
    made.cleanup()


def _service(stores: Stores) -> SessionService:
    return SessionService(stores.sessions, stores.audit, stores.runtime, faults=FaultInjector())


def _turns(backend: SqliteBackend) -> int:
    with sqlite3.connect(backend.path("runtime")) as conn:
        sql = "SELECT count(*) FROM rt_receipts WHERE kind = 'terminal'"
        count = conn.execute(sql).fetchone()[0]
    conn.close()
    return int(count)


def test_every_commit_passes_a_commit_site(backend: SqliteBackend) -> None:
    faults = FaultInjector()
    stores = backend.open(faults)
    svc = _service(stores)
    svc.create("s1")
    svc.run_turn("s1", "hello")
    stores.close()
    sites = faults.sites_hit()
    # create, accept + begin (one transaction), an in-run checkpoint, the run-boundary commit;
    # two row saves
    assert sites.count("sqlite.commit.runtime") == 4
    assert sites.count("sqlite.commit.sessions") == 2
    # Accept + begin and the in-run checkpoint commit without an fsync (durable with the next
    # synced commit of the file: the run boundary); every other commit is synced.
    assert sites.count("sqlite.unsynced.runtime") == 2
    assert "sqlite.unsynced.sessions" not in sites


def test_torn_commit_loses_its_last_frame_and_sqlite_discards_it(backend: SqliteBackend) -> None:
    stores = backend.open(FaultInjector())
    svc = _service(stores)
    svc.create("s1")
    svc.run_turn("s1", "one")
    assert _turns(backend) == 1
    wal = backend.path("runtime").with_name("runtime.sqlite-wal")
    before = wal.read_bytes()
    images = backend.power_cut("torn", "runtime")
    stores.close()
    assert images is not None and list(images) == [wal]
    torn = images[wal]
    assert torn is not None
    page = int.from_bytes(before[8:12], "big")
    assert len(before) - len(torn) == FRAME_HEADER + page
    backend.restore(images)
    assert _turns(backend) == 0  # the torn transaction (the run-boundary commit) is gone


def test_unsynced_commits_are_lost_per_file(backend: SqliteBackend) -> None:
    faults = FaultInjector()
    stores = backend.open(faults)
    svc = _service(stores)
    svc.create("s1")
    runtime = stores.runtime
    assert isinstance(runtime, SqliteRuntimeStore)
    runtime.db.read(lambda conn: conn.execute("PRAGMA synchronous = NORMAL"), None)
    svc.run_turn("s1", "one")
    assert "sqlite.unsynced.runtime" in faults.sites_hit()
    assert "sqlite.unsynced.sessions" in faults.sites_hit()  # the projection save after it
    images = backend.power_cut("lost", "sessions")
    stores.close()
    assert images is not None and backend.path("runtime") in images
    assert backend.path("sessions") not in images  # synced: kept
    backend.restore(images)
    assert _turns(backend) == 0  # the acknowledged turn was never synced: lost
    with sqlite3.connect(backend.path("sessions")) as conn:
        rows = conn.execute("SELECT count(*) FROM ss_rows").fetchone()[0]
    conn.close()
    assert rows == 1
