"""The authority's committed snapshot in SQLite, stored as message deltas (runtime schema v4).

A snapshot is ``prefix + b",".join(messages) + suffix`` (``codec.snapshot_parts``). From v4 on
``rt_sessions`` keeps the prefix, the suffix, the message count, a digest of the joined
messages and the digest of the whole snapshot; every message is one ``rt_messages`` row with
its own SHA-256. A commit that appends to the stored transcript inserts only the new rows
(the usual turn); any other change (a rewrite, a compaction) replaces the rows. Reads
reassemble the bytes in one statement and verify the whole snapshot's digest; on a mismatch
the message rows whose own digest fails are named.

A row written before v4 (or bytes that are not the canonical encoding) keeps the whole
snapshot in ``rt_sessions.snapshot``: read and verified as before, converted by its next
commit. ``snapshot`` not NULL means the whole form; ``snapshot_prefix`` not NULL the deltas.
"""

from __future__ import annotations

import sqlite3

from session_core.codec import decode_session, snapshot_parts
from session_core.errors import UndecodableRow
from session_core.stores.sqlite_db import sha256_hex

DELTAS_VERSION = 4


def canonical_parts(snapshot: bytes) -> tuple[bytes, list[bytes], bytes] | None:
    """The parts of ``snapshot`` if it is the canonical encoding of a document, else ``None``
    (then it is stored whole: the bytes are kept exactly)."""
    try:
        session = decode_session(snapshot)
    except UndecodableRow:
        return None
    prefix, messages, suffix = snapshot_parts(session)
    if b"".join((prefix, b",".join(messages), suffix)) != snapshot:
        return None
    return prefix, messages, suffix


def _appended_from(conn: sqlite3.Connection, session_id: str, messages: list[bytes]) -> int:
    """How many stored message rows ``messages`` keeps unchanged at its start: all of them if
    it appends to the stored transcript (checked by digest), else 0 (the rows are replaced)."""
    row = conn.execute(
        "SELECT snapshot IS NULL AND snapshot_prefix IS NOT NULL, message_count, messages_digest"
        " FROM rt_sessions WHERE session_id = ?",
        (session_id,),
    ).fetchone()
    if row is None or not row[0] or row[1] is None:
        return 0
    stored = int(row[1])
    if stored > len(messages) or sha256_hex(b",".join(messages[:stored])) != row[2]:
        return 0
    return stored


def write_snapshot(conn: sqlite3.Connection, session_id: str, snapshot: bytes | None) -> None:
    """Store ``snapshot`` (``None`` clears it) with its digests, inside the caller's
    transaction."""
    parts = None if snapshot is None else canonical_parts(snapshot)
    if parts is None:
        conn.execute("DELETE FROM rt_messages WHERE session_id = ?", (session_id,))
        conn.execute(
            "UPDATE rt_sessions SET snapshot = ?, snapshot_digest = ?, snapshot_prefix = NULL,"
            " snapshot_suffix = NULL, message_count = NULL, messages_digest = NULL"
            " WHERE session_id = ?",
            (snapshot, sha256_hex(snapshot), session_id),
        )
        return
    prefix, messages, suffix = parts
    kept = _appended_from(conn, session_id, messages)
    if kept == 0:
        conn.execute("DELETE FROM rt_messages WHERE session_id = ?", (session_id,))
    _insert_messages(conn, session_id, messages, kept)
    conn.execute(
        "UPDATE rt_sessions SET snapshot = NULL, snapshot_digest = ?, snapshot_prefix = ?,"
        " snapshot_suffix = ?, message_count = ?, messages_digest = ? WHERE session_id = ?",
        (
            sha256_hex(snapshot),
            prefix,
            suffix,
            len(messages),
            sha256_hex(b",".join(messages)),
            session_id,
        ),
    )


_ROWS_PER_INSERT = 200
"""Message rows per ``INSERT`` (4 parameters each: far below SQLite's parameter limit)."""


def _insert_messages(
    conn: sqlite3.Connection, session_id: str, messages: list[bytes], start: int
) -> None:
    """Insert ``messages[start:]`` as rows, many per statement (one statement per turn usually:
    each statement is a round trip through the sqlite3 module, which releases the GIL)."""
    for first in range(start, len(messages), _ROWS_PER_INSERT):
        chunk = messages[first : first + _ROWS_PER_INSERT]
        values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
        params = [
            value
            for idx, message in enumerate(chunk, first)
            for value in (session_id, idx, message, sha256_hex(message))
        ]
        conn.execute(
            f"INSERT INTO rt_messages (session_id, idx, message, digest) VALUES {values}",  # noqa: S608  # nosec B608
            params,
        )


SNAPSHOT_SQL = (
    "CASE WHEN snapshot IS NOT NULL THEN snapshot WHEN snapshot_prefix IS NULL THEN NULL"
    " ELSE CAST(snapshot_prefix || coalesce((SELECT group_concat(message, ',') FROM"
    " (SELECT message FROM rt_messages AS m WHERE m.session_id = rt_sessions.session_id"
    " ORDER BY idx)), '') || snapshot_suffix AS BLOB) END"
)
"""The stored snapshot bytes as one column of a ``rt_sessions`` query: the whole form, or
the deltas reassembled (prefix, the message rows in ``idx`` order, suffix). One statement, so
the bytes and the digest read with them come from one read transaction even while another
process commits (separate statements could see two different commits)."""


def damaged_messages(conn: sqlite3.Connection, session_id: str) -> list[int]:
    """Indexes of message rows whose bytes fail their own digest, and of missing rows."""
    count = conn.execute(
        "SELECT message_count FROM rt_sessions WHERE session_id = ?", (session_id,)
    ).fetchone()
    rows = conn.execute(
        "SELECT idx, message, digest FROM rt_messages WHERE session_id = ? ORDER BY idx",
        (session_id,),
    ).fetchall()
    bad = [int(i) for i, m, d in rows if sha256_hex(bytes(m)) != d]
    present = {int(r[0]) for r in rows}
    expected = 0 if count is None or count[0] is None else int(count[0])
    return sorted(bad + [i for i in range(expected) if i not in present])
