"""SQLite specifics: separate files, pragmas, schema versions, bad files and rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from session_core.codec import encode_session
from session_core.conformance import doc
from session_core.errors import (
    CorruptDatabase,
    ForeignDatabase,
    SchemaTooNew,
    SessionArchived,
    UndecodableRow,
)
from session_core.factory import sqlite_service, sqlite_stores
from session_core.stores.sqlite import SqliteRuntimeStore, SqliteSessionStore
from session_core.stores.sqlite_db import latest


def test_separate_files_by_default(tmp_path: Path) -> None:
    stores = sqlite_stores(tmp_path)
    stores.runtime.create("s1", encode_session(doc("s1")))
    stores.close()
    assert (tmp_path / "runtime.sqlite").exists()
    assert (tmp_path / "sessions.sqlite3").exists()
    assert not (tmp_path / "session_core.sqlite").exists()


def test_wal_and_synchronous_full(tmp_path: Path) -> None:
    store = SqliteRuntimeStore(tmp_path / "runtime.sqlite")
    conn = store.db._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_forward_migration_from_v1(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite"
    old = SqliteRuntimeStore(path, migrate_to=1)
    assert old.db.schema_version() == 1
    old.create("s1", encode_session(doc("s1")))
    old.close()
    new = SqliteRuntimeStore(path)
    assert new.db.schema_version() == latest("runtime") == 4
    assert new.load_snapshot("s1") == encode_session(doc("s1"))
    indexes = new.db._connection().execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'rt_inputs_state'"
    )
    assert indexes.fetchone() is not None
    new.close()


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    SqliteSessionStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 99 WHERE component = 'sessions'")
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew) as info:
        SqliteSessionStore(path)
    assert info.value.found == 99 and str(path) in str(info.value)
    assert path.read_bytes() == before


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "runtime.sqlite"
    path.write_bytes(b"this is a text file, not sqlite" * 100)
    with pytest.raises(CorruptDatabase) as info:
        sqlite_stores(tmp_path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"this is a text file, not sqlite" * 100


def test_corrupted_pages(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    svc.create("s1")
    for i in range(30):
        svc.run_turn("s1", f"turn {i} " + "x" * 500)
    svc.close()
    path = tmp_path / "sessions.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 7):
        data[offset] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase) as info:
        stores = sqlite_stores(tmp_path)
        stores.sessions.load("s1")
    assert str(path) in str(info.value)


def test_foreign_database_not_modified(tmp_path: Path) -> None:
    path = tmp_path / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(ForeignDatabase) as info:
        SqliteSessionStore(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert not (tmp_path / "sessions.sqlite3-wal").exists()


def test_undecodable_row_names_file_and_session(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    svc.create("s1")
    svc.close()
    path = tmp_path / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ss_rows SET row = ? WHERE session_id = 's1'", (b"{garbage",))
    conn.close()
    svc = sqlite_service(tmp_path)
    with pytest.raises(UndecodableRow) as info:
        svc.reader.read_transcript("s1")
    assert "s1" in str(info.value) and str(path) in str(info.value)
    report = svc.recover()  # quarantined (bytes kept), rebuilt from the verified authority
    assert report.ok, report
    assert svc.reader.view("s1").in_sync
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT row FROM ss_quarantine").fetchone()[0] == b"{garbage"
        assert conn.execute("SELECT row FROM ss_rows").fetchone()[0] != b"{garbage"
    conn.close()
    svc.close()


def test_undecodable_runtime_less_row_is_never_deleted(tmp_path: Path) -> None:
    """The row of a runtime-less session is its only copy: reported, never quarantined."""
    svc = sqlite_service(tmp_path, runtime_backed=False)
    svc.create("s1")
    svc.close()
    path = tmp_path / "sessions.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE ss_rows SET row = ? WHERE session_id = 's1'", (b"{garbage",))
    conn.close()
    svc = sqlite_service(tmp_path, runtime_backed=False)
    report = svc.recover()
    assert isinstance(report.sessions[0].error, UndecodableRow)
    with pytest.raises(UndecodableRow):
        svc.run_turn("s1", "hello")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT row FROM ss_rows").fetchone()[0] == b"{garbage"
        assert conn.execute("SELECT count(*) FROM ss_quarantine").fetchone()[0] == 0
    conn.close()
    svc.close()


def test_undecodable_snapshot(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    svc.create("s1")
    svc.close()
    path = tmp_path / "runtime.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE rt_sessions SET snapshot = ? WHERE session_id = 's1'", (b"\xff",))
    conn.close()
    svc = sqlite_service(tmp_path)
    with pytest.raises(UndecodableRow) as info:
        svc.read("s1")
    assert "s1" in str(info.value) and str(path) in str(info.value)
    outcome = svc.run_turn("s1", "hello")
    assert type(outcome).__name__ == "Failed"
    assert isinstance(outcome.cause, UndecodableRow)  # type: ignore[union-attr]
    svc.close()


def test_migration_never_revives_an_archived_session(tmp_path: Path) -> None:
    """Bug 16: opening (and migrating) an old file keeps an archived session archived."""
    from session_core.service import SessionService
    from session_core.stores.sqlite import SqliteAuditLog

    sessions_path = tmp_path / "sessions.sqlite3"
    old = SessionService(
        SqliteSessionStore(sessions_path, migrate_to=1),
        SqliteAuditLog(sessions_path, migrate_to=1),
        SqliteRuntimeStore(tmp_path / "runtime.sqlite", migrate_to=1),
    )
    old.create("s1")
    old.run_turn("s1", "hello")
    old.archive("s1")
    old.close()
    svc = sqlite_service(tmp_path)
    assert svc.recover().ok
    row = svc.sessions.load("s1")
    assert row is not None and row.archived
    with pytest.raises(SessionArchived):
        svc.run_turn("s1", "again")
    assert svc.reader.view("s1").authority.turns == 1
    svc.close()
