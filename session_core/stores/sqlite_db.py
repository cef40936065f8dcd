"""One SQLite database file: opening, validation, schema versions, transactions, error mapping.

* ``journal_mode=WAL`` (the result is checked), ``synchronous=FULL``, ``busy_timeout``;
  autocommit connection with explicit ``BEGIN IMMEDIATE`` write transactions; every statement
  parameterized.
* **One connection per file per process**, and no other descriptor on a store file once it
  exists: on POSIX, closing *any* descriptor of a file drops every fcntl lock the process holds
  on it, and another process could then checkpoint and delete the live WAL. Store objects on
  the same file share one connection (``_Shared``, reference counted); the file is validated
  through SQLite itself, and the only raw read (a ``-wal`` header, see ``wal_check``) happens
  before this process has a connection to the file.
* A file that is not SQLite -> ``CorruptDatabase``; a SQLite file we did not create (foreign
  ``application_id`` or unknown tables) -> ``ForeignDatabase``; a schema version newer than this
  code -> ``SchemaTooNew``; the file of the other component -> ``WrongStoreFile``; a directory
  or unreadable path -> ``StoreFileInvalid``. Nothing is recreated or overwritten.
* ``schema_version(component, version)`` records one version per component (``runtime``,
  ``sessions``); migrations run forward in one transaction. Mode ``read-only`` never writes
  (``mode=ro``); a file that needs a migration is then ``MigrationRequired``.
* Identity (v3): ``sc_identity`` holds the directory id and the file's role; every write
  transaction bumps ``sc_stamp``, whose page carries the same marker, so every transaction in
  a WAL names the directory and file it belongs to.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from session_core.errors import (
    CorruptDatabase,
    ForeignDatabase,
    ForeignWal,
    MigrationRequired,
    SchemaTooNew,
    SessionCoreError,
    StorageError,
    StorageIndeterminate,
    StoreClosed,
    StoreFileInvalid,
    WrongStoreFile,
)
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.stores.sqlite_batch import GroupCommitter, WriteRequest
from session_core.stores.writer_lock import WriterLock

APPLICATION_ID = 0x53436F72  # "SCor"
SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first bytes of a SQLite file (never read with a plain descriptor once connected)."""
BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")
OpenMode = Literal["create", "open", "read-only"]
"""``create``: an absent/empty file is initialised; ``open``: the file must hold our schema;
``read-only``: like ``open``, never writes (no migration, no journal-mode change)."""

Migration = tuple[int, Sequence[str]]

IDENTITY_TABLES = (
    "CREATE TABLE IF NOT EXISTS sc_identity (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " directory_id TEXT NOT NULL, file_role TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sc_stamp (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " marker TEXT NOT NULL, writes INTEGER NOT NULL)",
)

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
        (
            3,
            (
                *IDENTITY_TABLES,
                "ALTER TABLE rt_sessions ADD COLUMN snapshot_digest TEXT",
                "UPDATE rt_sessions SET snapshot_digest = sc_sha256(snapshot)"
                " WHERE snapshot IS NOT NULL",
                "ALTER TABLE rt_sessions ADD COLUMN lease_owner TEXT",
                "ALTER TABLE rt_sessions ADD COLUMN lease_expires REAL",
            ),
        ),
        (
            4,
            (
                "CREATE TABLE rt_messages (session_id TEXT NOT NULL, idx INTEGER NOT NULL,"
                " message BLOB NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (session_id, idx))"
                " WITHOUT ROWID",
                "ALTER TABLE rt_sessions ADD COLUMN snapshot_prefix BLOB",
                "ALTER TABLE rt_sessions ADD COLUMN snapshot_suffix BLOB",
                "ALTER TABLE rt_sessions ADD COLUMN message_count INTEGER",
                "ALTER TABLE rt_sessions ADD COLUMN messages_digest TEXT",
            ),
        ),
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
        (
            3,
            (
                *IDENTITY_TABLES,
                "CREATE TABLE ss_quarantine (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " session_id TEXT NOT NULL, row BLOB NOT NULL, token TEXT NOT NULL)",
            ),
        ),
    ],
}

OWN_TABLES = frozenset(
    {
        "schema_version",
        "rt_sessions",
        "rt_receipts",
        "rt_inputs",
        "rt_tails",
        "rt_messages",
        "ss_rows",
        "ss_audit",
        "sqlite_sequence",
        "sc_identity",
        "sc_stamp",
        "ss_quarantine",
    }
)


def latest(component: str) -> int:
    return MIGRATIONS[component][-1][0]


def sha256_hex(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(bytes(data)).hexdigest()


@dataclass(frozen=True)
class Identity:
    """What a store file says it is: the data directory's id and the file's role
    (``runtime``, ``sessions`` or ``shared`` for the single-file layout)."""

    directory_id: str
    file_role: str

    @property
    def marker(self) -> str:
        return f"sc-dir:{self.directory_id};file:{self.file_role}"


# --- one connection per file per process ---------------------------------------------------


class _Shared:
    def __init__(self, key: str, path: str, conn: sqlite3.Connection, read_only: bool) -> None:
        self.key = key
        self.conn = conn
        self.read_only = read_only
        self.lock = threading.RLock()
        self.refs = 1
        self.writer = None if read_only else WriterLock(path)
        self.committer = GroupCommitter(conn, self.lock, self.writer)


_REGISTRY: dict[tuple[str, bool], _Shared] = {}
_REGISTRY_LOCK = threading.Lock()


def _key(path: str) -> str:
    """The file's identity in this process: its real path and inode (a file replaced on disk
    is a new file; its old connection is never handed out for it)."""
    real = os.path.realpath(path)
    try:
        inode = os.stat(real).st_ino
    except OSError:
        inode = 0
    return f"{real}\0{inode}"


def open_in_process(path: str | Path) -> bool:
    """True when this process holds a connection to ``path`` (then no raw descriptor may be
    opened on it)."""
    key = _key(str(path))
    with _REGISTRY_LOCK:
        return any(k == key for k, _ in _REGISTRY)


def _release(shared: _Shared) -> None:
    with _REGISTRY_LOCK:
        shared.refs -= 1
        if shared.refs > 0:
            return
        _REGISTRY.pop((shared.key, shared.read_only), None)
    with shared.lock:
        shared.conn.close()
        if shared.writer is not None:
            shared.writer.close()


# --- the WAL check -------------------------------------------------------------------------

WAL_HEADER = 32
FRAME_HEADER = 24


def wal_transactions(data: bytes) -> list[list[bytes]]:
    """Committed transactions of a WAL image (pages of the frames whose salts match the
    header, up to the last commit frame), without SQLite reading it."""
    if len(data) < WAL_HEADER:
        return []
    magic = int.from_bytes(data[0:4], "big")
    if magic not in (0x377F0682, 0x377F0683):
        raise ValueError("not a WAL file")
    page_size = int.from_bytes(data[8:12], "big")
    salts = data[16:24]
    frame = FRAME_HEADER + page_size
    done: list[list[bytes]] = []
    current: list[bytes] = []
    offset = WAL_HEADER
    while offset + frame <= len(data):
        header = data[offset : offset + FRAME_HEADER]
        if header[8:16] != salts:
            break
        current.append(data[offset + FRAME_HEADER : offset + frame])
        if int.from_bytes(header[4:8], "big") != 0:
            done.append(current)
            current = []
        offset += frame
    return done


def wal_check(path: str, expected: Identity) -> None:
    """Refuse a ``-wal`` that does not belong to ``path`` before SQLite replays it: every
    committed transaction of a session_core WAL carries the file's identity marker (the
    ``sc_stamp`` page). Called only while this process has no connection to the file."""
    wal = Path(f"{path}-wal")
    if open_in_process(path) or not wal.is_file() or wal.stat().st_size == 0:
        return
    try:
        data = wal.read_bytes()
    except OSError as exc:
        raise StoreFileInvalid(f"cannot read {wal}: {exc.strerror}", path=path) from exc
    marker = expected.marker.encode()
    try:
        transactions = wal_transactions(data)
    except ValueError:
        transactions = [[b""]]
    for pages in transactions:
        if not any(marker in page for page in pages):
            raise ForeignWal(
                f"{wal} does not belong to this file (a transaction without the marker"
                f" {expected.marker!r}); it was not applied. Move it away (keep it for"
                " inspection) and open again",
                path=path,
            )


MARKER_RE = re.compile(rb"sc-dir:([0-9a-f]{32});file:(runtime|sessions|shared)")


def wal_identity(path: str) -> Identity | None:
    """The identity marker of the last committed WAL transaction (a file whose identity is
    not checkpointed into the main file yet); ``None`` if there is none."""
    wal = Path(f"{path}-wal")
    if open_in_process(path) or not wal.is_file():
        return None
    try:
        transactions = wal_transactions(wal.read_bytes())
    except ValueError:
        return None
    for pages in reversed(transactions):
        for page in pages:
            found = MARKER_RE.search(page)
            if found is not None:
                return Identity(found.group(1).decode(), found.group(2).decode())
    return None


def read_identity(path: str) -> Identity | None:
    """The identity recorded in the main file, read without its WAL and without locks
    (``immutable=1``); ``None`` for a file without one (older schema). Only before this process
    has a connection to the file."""
    uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?immutable=1"
    for attempt in range(3):
        try:
            conn = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as exc:
            raise StoreFileInvalid(f"cannot open: {exc}", path=path) from exc
        try:
            app = int(conn.execute("PRAGMA application_id").fetchone()[0])
            tables = conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None
            if (app != 0 or tables) and app != APPLICATION_ID:
                raise ForeignDatabase(
                    f"not a session_core database (application_id={app:#x})", path=path
                )
            found = conn.execute(
                "SELECT name FROM sqlite_master WHERE name = 'sc_identity'"
            ).fetchone()
            row = None
            if found is not None:
                row = conn.execute("SELECT directory_id, file_role FROM sc_identity").fetchone()
            if row is None:
                return wal_identity(path)
            return Identity(str(row[0]), str(row[1]))
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if attempt == 2:
                raise CorruptDatabase(f"cannot read identity: {exc}", path=path) from exc
        finally:
            conn.close()
    return None


def recorded_identity(path: str | Path) -> Identity | None:
    """The file's recorded identity: through this process's connection if it has one (no new
    descriptor on the file), else read from the main file without its WAL."""
    key = _key(str(path))
    with _REGISTRY_LOCK:
        shared = _REGISTRY.get((key, False)) or _REGISTRY.get((key, True))
    if shared is None:
        return read_identity(str(path))
    with shared.lock:
        return _identity_of(shared.conn)


# --- the database ----------------------------------------------------------------------------


class SqliteDatabase:
    """A connection to one file for one component, shared by threads under a lock."""

    def __init__(
        self,
        path: str | Path,
        component: str,
        faults: FaultPoint = NO_FAULTS,
        *,
        migrate_to: int | None = None,
        mode: OpenMode = "create",
        identity: Identity | None = None,
        shared_layout: bool = False,
    ) -> None:
        self.path = str(path)
        self.component = component
        self.faults = faults
        self.mode: OpenMode = mode
        self.identity = identity
        self.shared_layout = shared_layout
        self._shared: _Shared | None = None
        self._stamp = False
        self._check_path()
        if identity is not None:
            wal_check(self.path, identity)
        self._shared = self._attach()
        try:
            self._prepare(latest(component) if migrate_to is None else migrate_to)
        except BaseException:
            self.close()
            raise

    # --- opening ---------------------------------------------------------------------------

    def _check_path(self) -> None:
        path = Path(self.path)
        if self.path == ":memory:":
            return
        try:
            if path.is_dir():
                raise StoreFileInvalid("is a directory, expected a SQLite file", path=self.path)
            if self.mode != "create" and (not path.exists() or path.stat().st_size == 0):
                raise StoreFileInvalid("missing or empty", path=self.path)
        except OSError as exc:
            raise StoreFileInvalid(f"cannot inspect: {exc.strerror}", path=self.path) from exc
        if path.exists() and not os.access(path, os.R_OK):
            raise StoreFileInvalid("permission denied (not readable)", path=self.path)

    def _attach(self) -> _Shared:
        key = _key(self.path)
        read_only = self.mode == "read-only"
        with _REGISTRY_LOCK:
            for candidate in ((key, False), (key, True)) if read_only else ((key, False),):
                shared = _REGISTRY.get(candidate)
                if shared is not None:
                    shared.refs += 1
                    return shared
            conn = self._connect(read_only)
            key = _key(self.path)  # the file exists now (SQLite creates it when it opens)
            shared = _Shared(key, self.path, conn, read_only)
            _REGISTRY[(key, read_only)] = shared
            return shared

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        try:
            if read_only:
                uri = f"file:{urllib.parse.quote(os.path.abspath(self.path))}?mode=ro"
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
        except sqlite3.DatabaseError as exc:
            raise StoreFileInvalid(f"cannot open: {exc}", path=self.path) from exc
        try:
            conn.create_function("sc_sha256", 1, sha256_hex, deterministic=True)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._precheck(conn)
            if not read_only:
                self._journal_mode(conn)
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _storage_error(exc, self.path, None, "cannot open") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _journal_mode(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL and check that SQLite really did (an I/O error during the switch
        leaves the rollback journal in place silently)."""
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise StorageError(f"journal_mode=WAL not applied (got {mode!r})", path=self.path)

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
        if self.mode == "read-only":
            self.read(self._check_read_only, None)
        else:
            self.transaction(lambda c: self._migrate(c, target), None, stamp=False)
        self._stamp = self.identity is not None and self.read(self._has_stamp, None)
        if self.identity is not None:
            found = self.read(_identity_of, None)
            if found is not None and found != self.identity:
                raise WrongStoreFile(
                    f"file identity {found.marker!r}, expected {self.identity.marker!r}",
                    path=self.path,
                )

    def _check_read_only(self, conn: sqlite3.Connection) -> None:
        self._check_owner(conn, create=False)
        current = self._version(conn)
        supported = latest(self.component)
        if current > supported:
            raise SchemaTooNew(current, supported, path=self.path)
        if current < supported:
            raise MigrationRequired(
                f"schema version {current} < {supported}: run `session-core recover` (or"
                " `session-core init`) once to migrate it in place",
                path=self.path,
            )

    def _migrate(self, conn: sqlite3.Connection, target: int) -> None:
        self._check_owner(conn, create=self.mode == "create")
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
        if self.identity is not None and max(current, target) >= 3:
            self._record_identity(conn, self.identity)

    def _check_owner(self, conn: sqlite3.Connection, *, create: bool) -> None:
        app = int(conn.execute("PRAGMA application_id").fetchone()[0])
        tables = {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if app == 0 and not tables and create:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(
                "CREATE TABLE schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            return
        if app != APPLICATION_ID or not tables <= OWN_TABLES or "schema_version" not in tables:
            raise ForeignDatabase(
                f"not a session_core database (application_id={app:#x})", path=self.path
            )
        components = {str(r[0]) for r in conn.execute("SELECT component FROM schema_version")}
        if components and self.component not in components and not self.shared_layout:
            raise WrongStoreFile(
                f"holds the {', '.join(sorted(components))} store, not the {self.component}"
                " store (swapped or misplaced file?)",
                path=self.path,
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

    def _has_stamp(self, conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM sc_stamp").fetchone() is not None

    def schema_version(self) -> int:
        return self.read(self._version, None)

    # --- identity --------------------------------------------------------------------------

    def stored_identity(self) -> Identity | None:
        return self.read(_identity_of, None)

    def _record_identity(self, conn: sqlite3.Connection, identity: Identity) -> None:
        """Record the identity in the creating (or migrating) transaction itself."""
        current = _identity_of(conn)
        if current is not None and current != identity:
            raise WrongStoreFile(
                f"file identity {current.marker!r}, expected {identity.marker!r}", path=self.path
            )
        conn.execute(
            "INSERT OR IGNORE INTO sc_identity (id, directory_id, file_role) VALUES (1, ?, ?)",
            (identity.directory_id, identity.file_role),
        )
        conn.execute(
            "INSERT OR IGNORE INTO sc_stamp (id, marker, writes) VALUES (1, ?, 0)",
            (identity.marker,),
        )

    # --- use -------------------------------------------------------------------------------

    def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            _release(shared)

    def _current(self) -> _Shared:
        if self._shared is None:
            raise StoreClosed("store is closed", path=self.path)
        return self._shared

    def _writer(self) -> AbstractContextManager[None]:
        writer = self._current().writer
        return nullcontext() if writer is None else writer.held()

    def _connection(self) -> sqlite3.Connection:
        return self._current().conn

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        shared = self._current()
        with shared.lock:
            if self._shared is None:
                raise StoreClosed("store is closed", path=self.path)
            yield shared.conn

    def read(self, fn: Callable[[sqlite3.Connection], T], session_id: str | None) -> T:
        with self._errors(session_id), self._locked() as conn:
            return fn(conn)

    def transaction(
        self,
        fn: Callable[[sqlite3.Connection], T],
        session_id: str | None,
        *,
        stamp: bool = True,
        sync: bool = True,
    ) -> T:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception (even a crash) rolls back. An error
        from ``COMMIT`` itself (a failed sync) is ``StorageIndeterminate``: the transaction may
        be durable (in the WAL) even though this connection cannot see it.

        Concurrent writers of this process on this file share one transaction and one
        ``COMMIT`` (group commit, ``sqlite_batch``); each returns after its batch committed.
        ``sync=False`` (when a whole batch asks for it) commits with ``synchronous=NORMAL`` (no
        fsync): the transaction is in the WAL, survives a process kill, and becomes durable
        against power loss with the next synced commit of the file (WAL frames are synced in
        order, so a power loss can only drop a suffix of unsynced transactions)."""
        if self.mode == "read-only":
            raise StorageError("store opened read-only", session_id=session_id, path=self.path)
        if not stamp:  # migrations: a transaction of their own
            with self._errors(session_id), self._locked() as conn, self._writer():
                return self._commit(conn, fn, session_id, stamp)
        request = WriteRequest(fn, sync, self._stamp)
        with self._errors(session_id):
            self._current().committer.submit(request)
            if request.indeterminate:
                raise StorageIndeterminate(
                    f"commit failed, outcome unknown: {request.error}",
                    session_id=session_id,
                    path=self.path,
                ) from request.error
            if request.error is not None:
                raise request.error
        return request.result  # type: ignore[return-value]

    def _commit(
        self,
        conn: sqlite3.Connection,
        fn: Callable[[sqlite3.Connection], T],
        session_id: str | None,
        stamp: bool,
    ) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            if stamp and self._stamp:
                conn.execute("UPDATE sc_stamp SET writes = writes + 1")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageIndeterminate(
                f"commit failed, outcome unknown: {exc}", session_id=session_id, path=self.path
            ) from exc
        return result

    def write(
        self,
        site: str | tuple[str, ...],
        session_id: str | None,
        fn: Callable[[sqlite3.Connection], T],
        *,
        sync: bool = True,
    ) -> T:
        """A durable operation between its ``.before`` and ``.after`` fault sites (several
        operations merged into one transaction pass the sites of each; ``sync=False``: see
        ``transaction``)."""
        sites = (site,) if isinstance(site, str) else site
        with self._errors(session_id):  # an injected error names the file too
            for name in sites:
                self.faults.hit(f"{name}.before", session_id)
        result = self.transaction(fn, session_id, sync=sync)
        with self._errors(session_id):
            for name in sites:
                self.faults.hit(f"{name}.after", session_id)
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
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise _storage_error(exc, self.path, session_id, "sqlite") from exc


def _identity_of(conn: sqlite3.Connection) -> Identity | None:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sc_identity'").fetchone()
    if found is None:
        return None
    row = conn.execute("SELECT directory_id, file_role FROM sc_identity").fetchone()
    return None if row is None else Identity(str(row[0]), str(row[1]))


def _storage_error(
    exc: BaseException, path: str, session_id: str | None, what: str
) -> SessionCoreError:
    """Map a sqlite3 error onto a typed error naming the file."""
    if isinstance(exc, UnicodeDecodeError):
        return CorruptDatabase(f"{what}: undecodable text: {exc}", session_id=session_id, path=path)
    text = str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        if "readonly" in text or "unable to open" in text:
            return StoreFileInvalid(f"{what}: {text}", session_id=session_id, path=path)
        return StorageError(f"{what}: {text}", session_id=session_id, path=path)
    return CorruptDatabase(f"{what}: {text}", session_id=session_id, path=path)
