"""One SQLite database file: opening, validation, schema versions, transactions, error mapping.

* ``journal_mode=WAL``, ``synchronous=FULL``, ``busy_timeout``; autocommit connection with
  explicit ``BEGIN IMMEDIATE`` write transactions; every statement parameterized.
* A file that is not SQLite -> ``CorruptDatabase``; a SQLite file we did not create (foreign
  ``application_id`` or unknown tables) -> ``ForeignDatabase``; a schema version newer than this
  code -> ``SchemaTooNew``. Nothing is recreated or overwritten.
* ``schema_version(component, version)`` records one version per component (``runtime``,
  ``sessions``); migrations run forward in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from session_core.errors import (
    CorruptDatabase,
    ForeignDatabase,
    SchemaTooNew,
    SessionCoreError,
    StorageError,
    StoreClosed,
)
from session_core.faults import NO_FAULTS, FaultPoint

APPLICATION_ID = 0x53436F72  # "SCor"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")

Migration = tuple[int, Sequence[str]]

MIGRATIONS: dict[str, list[Migration]] = {
    "runtime": [
        (
            1,
            (
                "CREATE TABLE rt_sessions (session_id TEXT PRIMARY KEY, snapshot BLOB,"
                " state TEXT NOT NULL, run_counter INTEGER NOT NULL DEFAULT 0, active_run TEXT)",
                "CREATE TABLE rt_receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " session_id TEXT NOT NULL, run_id TEXT NOT NULL, sequence INTEGER NOT NULL,"
                " kind TEXT NOT NULL, input_ids TEXT NOT NULL, digest TEXT NOT NULL,"
                " message_count INTEGER NOT NULL, UNIQUE (session_id, run_id, sequence))",
                "CREATE TABLE rt_inputs (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " session_id TEXT NOT NULL, input_id TEXT NOT NULL, payload TEXT NOT NULL,"
                " state TEXT NOT NULL, run_id TEXT, UNIQUE (session_id, input_id))",
                "CREATE TABLE rt_tails (session_id TEXT NOT NULL, run_id TEXT NOT NULL,"
                " sequence INTEGER NOT NULL, tail BLOB NOT NULL,"
                " PRIMARY KEY (session_id, run_id, sequence))",
            ),
        ),
        (2, ("CREATE INDEX rt_inputs_state ON rt_inputs (session_id, state)",)),
    ],
    "sessions": [
        (
            1,
            (
                "CREATE TABLE ss_rows (session_id TEXT PRIMARY KEY, row BLOB NOT NULL,"
                " token TEXT NOT NULL, revision TEXT NOT NULL, lifecycle TEXT NOT NULL,"
                " message_count INTEGER NOT NULL)",
                "CREATE TABLE ss_audit (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " session_id TEXT NOT NULL, idx INTEGER NOT NULL, parent_revision TEXT NOT NULL,"
                " revision TEXT NOT NULL, reason TEXT NOT NULL, commit_digest TEXT NOT NULL,"
                " UNIQUE (session_id, idx))",
            ),
        ),
        (2, ("CREATE INDEX ss_rows_lifecycle ON ss_rows (lifecycle)",)),
    ],
}

OWN_TABLES = frozenset(
    {
        "schema_version",
        "rt_sessions",
        "rt_receipts",
        "rt_inputs",
        "rt_tails",
        "ss_rows",
        "ss_audit",
        "sqlite_sequence",
    }
)


def latest(component: str) -> int:
    return MIGRATIONS[component][-1][0]


class SqliteDatabase:
    """A connection to one file for one component, shared by threads under a lock."""

    def __init__(
        self,
        path: str | Path,
        component: str,
        faults: FaultPoint = NO_FAULTS,
        *,
        migrate_to: int | None = None,
    ) -> None:
        self.path = str(path)
        self.component = component
        self.faults = faults
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._check_magic()
        self._conn = self._connect()
        try:
            self._prepare(latest(component) if migrate_to is None else migrate_to)
        except BaseException:
            self.close()
            raise

    # --- opening ---------------------------------------------------------------------------

    def _check_magic(self) -> None:
        path = Path(self.path)
        if not path.exists() or path.stat().st_size == 0:
            return
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        if head != SQLITE_MAGIC:
            raise CorruptDatabase("not a SQLite database", path=self.path)

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.DatabaseError as exc:
            raise CorruptDatabase(f"cannot open: {exc}", path=self.path) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._precheck(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CorruptDatabase(f"cannot open: {exc}", path=self.path) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _precheck(self, conn: sqlite3.Connection) -> None:
        """Refuse a foreign database before changing anything in it (even its journal mode)."""
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        has_tables = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None
        if (app != 0 or has_tables) and app != APPLICATION_ID:
            raise ForeignDatabase(
                f"not a session_core database (application_id={app:#x})", path=self.path
            )
        if has_tables:
            result = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
            if result != ["ok"]:
                raise CorruptDatabase(f"integrity check failed: {result}", path=self.path)

    def _prepare(self, target: int) -> None:
        def run(conn: sqlite3.Connection) -> None:
            self._check_owner(conn)
            current = self._version(conn)
            self._check_tables(conn, current)
            supported = latest(self.component)
            if current > supported:
                raise SchemaTooNew(current, supported, path=self.path)
            for version, statements in MIGRATIONS[self.component]:
                if current < version <= target:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_version (component, version) VALUES (?, ?)"
                        " ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (self.component, version),
                    )

        self.transaction(run, None)

    def _check_owner(self, conn: sqlite3.Connection) -> None:
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if app == 0 and not tables:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(
                "CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            return
        if app != APPLICATION_ID or not tables <= OWN_TABLES or "schema_version" not in tables:
            raise ForeignDatabase(
                f"not a session_core database (application_id={app:#x})", path=self.path
            )

    def _check_tables(self, conn: sqlite3.Connection, version: int) -> None:
        """Tables of this component without a recorded version: damaged, not fresh."""
        prefix = "rt_" if self.component == "runtime" else "ss_"
        names = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 3) = ?",
            (prefix,),
        ).fetchall()
        if version == 0 and names:
            raise CorruptDatabase(
                f"{self.component} tables exist but no schema version is recorded", path=self.path
            )

    def _version(self, conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT version FROM schema_version WHERE component = ?", (self.component,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def schema_version(self) -> int:
        return self.read(self._version, None)

    # --- use -------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosed("store is closed", path=self.path)
        return self._conn

    def read(self, fn: Callable[[sqlite3.Connection], T], session_id: str | None) -> T:
        with self._lock, self._errors(session_id):
            return fn(self._connection())

    def transaction(self, fn: Callable[[sqlite3.Connection], T], session_id: str | None) -> T:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception (even a crash) rolls back."""
        with self._lock, self._errors(session_id):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

    def write(self, site: str, session_id: str | None, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A durable operation between its ``.before`` and ``.after`` fault sites."""
        self.faults.hit(f"{site}.before", session_id)
        result = self.transaction(fn, session_id)
        self.faults.hit(f"{site}.after", session_id)
        return result

    @contextmanager
    def _errors(self, session_id: str | None) -> Iterator[None]:
        try:
            yield
        except SessionCoreError as exc:
            if exc.path is None:
                exc.path = self.path
                exc.args = (exc._render(),)
            raise
        except sqlite3.OperationalError as exc:
            raise StorageError(f"sqlite: {exc}", session_id=session_id, path=self.path) from exc
        except sqlite3.DatabaseError as exc:
            raise CorruptDatabase(f"sqlite: {exc}", session_id=session_id, path=self.path) from exc
