"""The SQLite authority stores the transcript as message deltas (runtime schema v4): a turn
inserts only its new message rows, a rewrite replaces them, old files are migrated in place
and every read still verifies the reassembled snapshot. Real SQLite files, real processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from session_core.codec import decode_session, encode_session
from session_core.conformance import doc
from session_core.factory import sqlite_service
from session_core.model import Message
from session_core.outcomes import committed
from session_core.service import SessionService
from session_core.stores.sqlite import SqliteRuntimeStore


def _rows(path: Path, sid: str) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT idx, message FROM rt_messages WHERE session_id = ? ORDER BY idx", (sid,)
    ).fetchall()
    whole = conn.execute("SELECT snapshot FROM rt_sessions WHERE session_id = ?", (sid,))
    assert whole.fetchone()[0] is None  # not stored whole
    conn.close()
    return [(int(i), bytes(m)) for i, m in rows]


def _traced(svc: SessionService) -> list[str]:
    """Every statement the runtime file's connection runs from now on."""
    assert isinstance(svc.runtime, SqliteRuntimeStore)
    statements: list[str] = []
    svc.runtime.db._connection().set_trace_callback(statements.append)
    return statements


def test_a_turn_inserts_only_its_new_messages(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    assert committed(svc.create("s1"))
    assert committed(svc.run_turn("s1", "first"))
    before = _rows(tmp_path / "runtime.sqlite", "s1")
    statements = _traced(svc)
    assert committed(svc.run_turn("s1", "second"))
    after = _rows(tmp_path / "runtime.sqlite", "s1")
    added = len(after) - len(before)
    assert added > 0 and after[: len(before)] == before
    inserts = [s for s in statements if "INSERT INTO rt_messages" in s]
    assert len(inserts) == 1  # the turn's new rows in one statement
    assert inserts[0].count("), (") == added - 1
    assert not any("DELETE FROM rt_messages" in s for s in statements)
    snapshot = encode_session(svc.read("s1"))
    assert [m for _, m in after] == [m.full_bytes for m in decode_session(snapshot).messages]
    assert svc.sessions.load("s1") == svc.read("s1")
    svc.close()


def test_a_long_transcript_is_inserted_in_chunks_and_read_back_exactly(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    assert isinstance(svc.runtime, SqliteRuntimeStore)
    long = doc("big", *[f"message {n}" for n in range(449)])  # 450 rows: 200 + 200 + 50
    statements = _traced(svc)
    svc.runtime.create("big", encode_session(long))
    assert sum("INSERT INTO rt_messages" in s for s in statements) == 3
    rows = _rows(tmp_path / "runtime.sqlite", "big")
    assert [i for i, _ in rows] == list(range(450))
    assert [m for _, m in rows] == [m.full_bytes for m in long.messages]
    assert svc.runtime.load_snapshot("big") == encode_session(long)
    svc.close()


def test_a_rewrite_replaces_the_rows(tmp_path: Path) -> None:
    svc = sqlite_service(tmp_path)
    assert committed(svc.create("s1"))
    for n in range(3):
        assert committed(svc.run_turn("s1", f"turn {n}"))
    statements = _traced(svc)
    assert committed(svc.compact("s1", keep_last=2))
    assert any("DELETE FROM rt_messages" in s for s in statements)
    rows = _rows(tmp_path / "runtime.sqlite", "s1")
    assert [m for _, m in rows] == [m.full_bytes for m in svc.read("s1").messages]
    assert [i for i, _ in rows] == list(range(len(rows))) and len(rows) == 4
    assert committed(svc.run_turn("s1", "after the rewrite"))
    assert svc.sessions.load("s1") == svc.read("s1")
    svc.close()
    again = sqlite_service(tmp_path, mode="open")  # a new process's view: verified reads
    assert again.recover().errors == []
    assert again.read("s1").user_input_ids() == again.sessions.load("s1").user_input_ids()  # type: ignore[union-attr]
    again.close()


def test_a_v3_file_is_migrated_and_its_rows_converted_by_the_next_commit(
    tmp_path: Path,
) -> None:
    """A v3 file keeps whole snapshots; opening it for writing migrates it to v4 in one
    transaction (nothing dropped: the whole snapshot is still read and verified), and the
    next commit of a session stores it as message rows."""
    path = tmp_path / "runtime.sqlite"
    old = SqliteRuntimeStore(path, migrate_to=3)
    first = encode_session(doc("s1"))
    old.create("s1", first)
    old.close()
    new = SqliteRuntimeStore(path)
    assert new.db.schema_version() == 4
    assert new.load_snapshot("s1") == first
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT snapshot FROM rt_sessions").fetchone()[0] == first
    session = decode_session(first)
    longer = encode_session(
        session.__class__(session.id, (*session.messages, Message("user", "more", id="u9")))
    )
    assert new.replace_snapshot_if_current("s1", first, longer)
    assert new.load_snapshot("s1") == longer
    assert len(_rows(path, "s1")) == len(decode_session(longer).messages)
    conn.close()
    new.close()


WRITER = """
import sys
from session_core.factory import sqlite_service
from session_core.outcomes import committed
svc = sqlite_service(sys.argv[1], mode="open")
for sid in sys.argv[2:]:
    assert committed(svc.create(sid))
for n in range(4):
    for sid in sys.argv[2:]:
        assert committed(svc.run_turn(sid, f"turn {n}"))
svc.close()
"""


def test_processes_appending_deltas_on_one_directory(tmp_path: Path) -> None:
    """Three processes append turns to their own sessions in one directory at once: every
    session's message rows reassemble to a verified snapshot equal to its projection."""
    svc = sqlite_service(tmp_path)
    svc.close()
    groups = [[f"p{p}s{s}" for s in range(3)] for p in range(3)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), *g]) for g in groups]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    svc = sqlite_service(tmp_path, mode="open")
    for sid in (s for g in groups for s in g):
        session = svc.read(sid)
        assert len(session.user_input_ids()) == 4
        assert [m for _, m in _rows(tmp_path / "runtime.sqlite", sid)] == [
            m.full_bytes for m in session.messages
        ]
        assert svc.sessions.load(sid) == session
    svc.close()


APPENDER = """
import sys
from session_core.factory import sqlite_service
from session_core.outcomes import committed
svc = sqlite_service(sys.argv[1], mode="open")
for n in range(40):
    assert committed(svc.run_turn("s1", f"turn {n}"))
svc.close()
"""


def test_reads_in_another_process_never_see_a_torn_snapshot(tmp_path: Path) -> None:
    """A process appends turns while this one reads the snapshot over and over: the bytes
    and their digest come from one statement (one read transaction), so no read sees the
    message rows of one commit with the digest of another (a ChecksumMismatch that the
    concurrent demo processes once showed with separate statements)."""
    svc = sqlite_service(tmp_path)
    assert committed(svc.create("s1"))
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(tmp_path)])
    reads = 0
    while writer.poll() is None:
        svc.read("s1")  # raises ChecksumMismatch on a torn read
        reads += 1
    assert writer.wait(timeout=120) == 0 and reads > 0
    assert len(svc.read("s1").user_input_ids()) == 40
    svc.close()
