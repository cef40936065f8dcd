"""A data directory: the two store files as one identity.

``runtime.sqlite`` (authority) and ``sessions.sqlite3`` (projection) carry the same directory
id and their roles (``sc_identity``). Opening refuses, with a typed error naming both files
and what to do: a missing or empty file while the other holds data (``MissingStoreFile``),
different directory ids or swapped roles (``StoreIdentityMismatch``), a directory with no
data unless creation is asked for (``StoreNotInitialized``). Creating stores is explicit:
``mode="create"`` (a first ``create``, ``session-core demo``) or ``init_directory``
(``session-core init``), never ``status`` (``read-only``) or ``recover`` (``open``).

Files created before identities (schema < 3) are migrated in place by a writing open: both get
one new id (or the id the other file already has). Openers hold a shared ``flock`` on
``.session_core.lock`` while they check, creators an exclusive one, so processes starting
together on a fresh directory never see a half-initialised pair. That lock file is never a
store file, so its descriptor cannot drop SQLite's fcntl locks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from session_core.errors import (
    MigrationRequired,
    MissingStoreFile,
    StoreFileInvalid,
    StoreIdentityMismatch,
    StoreNotInitialized,
)
from session_core.stores.sqlite_db import Identity, OpenMode, recorded_identity

RUNTIME_FILE = "runtime.sqlite"
SESSIONS_FILE = "sessions.sqlite3"
SHARED_FILE = "session_core.sqlite"
LOCK_FILE = ".session_core.lock"


@dataclass(frozen=True)
class Layout:
    root: Path
    shared: bool = False

    @property
    def runtime(self) -> Path:
        return self.root / (SHARED_FILE if self.shared else RUNTIME_FILE)

    @property
    def sessions(self) -> Path:
        return self.root / (SHARED_FILE if self.shared else SESSIONS_FILE)

    def files(self) -> tuple[str, ...]:
        return (str(self.runtime),) if self.shared else (str(self.runtime), str(self.sessions))

    def role(self, component: str) -> str:
        return "shared" if self.shared else component


@dataclass(frozen=True)
class Expected:
    """The identities the stores must carry (``assign`` is set when a file predates them)."""

    runtime: Identity
    sessions: Identity
    assign: bool


def has_data(path: Path) -> bool:
    if path.is_dir():
        raise StoreFileInvalid("is a directory, expected a SQLite file", path=str(path))
    wal = Path(f"{path}-wal")
    try:
        size = path.stat().st_size if path.exists() else 0
        return size > 0 or (wal.is_file() and wal.stat().st_size > 0)
    except OSError as exc:
        raise StoreFileInvalid(f"cannot inspect: {exc.strerror}", path=str(path)) from exc


@contextlib.contextmanager
def directory_lock(root: Path, *, exclusive: bool, create: bool) -> Iterator[None]:
    path = root / LOCK_FILE
    if not create and not path.exists():
        yield
        return
    flags = os.O_RDWR | os.O_CREAT if create else os.O_RDONLY
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise StoreFileInvalid(f"cannot open the directory lock: {exc}", path=str(path)) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def check_root(root: Path, mode: OpenMode) -> None:
    if root.exists() and not root.is_dir():
        raise StoreFileInvalid("not a directory", path=str(root))
    if not root.exists():
        if mode != "create":
            raise StoreNotInitialized(
                f"no such data directory {root}",
                files=Layout(root).files(),
                advice=f"run `session-core init --data {root}` to create it",
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreFileInvalid(
                f"cannot create the data directory: {exc.strerror}", path=str(root)
            ) from exc


def expected_identities(layout: Layout, mode: OpenMode) -> Expected | None:
    """Validate the pair; ``None`` when both files are absent (the caller decides to create)."""
    runtime_data = has_data(layout.runtime)
    sessions_data = runtime_data if layout.shared else has_data(layout.sessions)
    if not runtime_data and not sessions_data:
        return None
    runtime = recorded_identity(layout.runtime) if runtime_data else None
    sessions = recorded_identity(layout.sessions) if sessions_data else None
    files = layout.files()
    if not runtime_data:
        raise MissingStoreFile(
            f"{layout.runtime} is missing or empty while {layout.sessions} holds data",
            files=files,
            advice=f"restore {RUNTIME_FILE} from a backup (it is the authority; the projection"
            " cannot replace it). Nothing was changed",
        )
    if not sessions_data:
        raise MissingStoreFile(
            f"{layout.sessions} is missing or empty while {layout.runtime} holds data",
            files=files,
            advice=f"restore it from a backup, or run `session-core init --data {layout.root}`"
            f" to create an empty projection for this directory, then `session-core recover"
            f" --data {layout.root}` rebuilds it from the authority",
        )
    return _pair(layout, mode, runtime, sessions)


def _pair(
    layout: Layout, mode: OpenMode, runtime: Identity | None, sessions: Identity | None
) -> Expected:
    files = layout.files()
    want_rt, want_ss = layout.role("runtime"), layout.role("sessions")
    for found, want, path in (
        (runtime, want_rt, layout.runtime),
        (sessions, want_ss, layout.sessions),
    ):
        if found is not None and found.file_role != want:
            raise StoreIdentityMismatch(
                f"{path} is the {found.file_role} file of a data directory, expected the"
                f" {want} file (swapped or misplaced files)",
                files=files,
                advice="put each file back under its own name (nothing was changed)",
            )
    if runtime is not None and sessions is not None:
        if runtime.directory_id != sessions.directory_id:
            raise StoreIdentityMismatch(
                f"the files belong to different data directories ({runtime.directory_id} and"
                f" {sessions.directory_id})",
                files=files,
                advice="restore the matching file from a backup (nothing was changed)",
            )
        return Expected(runtime, sessions, assign=False)
    if mode == "read-only":
        raise MigrationRequired(
            "the files predate data directory identities: run `session-core recover` (or"
            " `session-core init`) once to migrate them in place",
            path=str(layout.root),
        )
    known = runtime or sessions
    directory_id = known.directory_id if known is not None else new_directory_id()
    return Expected(Identity(directory_id, want_rt), Identity(directory_id, want_ss), assign=True)


def new_directory_id() -> str:
    return uuid.uuid4().hex


def fresh(layout: Layout) -> Expected:
    directory_id = new_directory_id()
    return Expected(
        Identity(directory_id, layout.role("runtime")),
        Identity(directory_id, layout.role("sessions")),
        assign=True,
    )


def init_projection(layout: Layout) -> Expected:
    """``session-core init`` on a directory whose projection file is missing: a new, empty
    projection file carrying the authority's identity (recovery then rebuilds the rows)."""
    runtime = recorded_identity(layout.runtime)
    if runtime is None:
        raise MigrationRequired(
            "the runtime file predates data directory identities: run `session-core recover`"
            " with both files present first",
            path=str(layout.runtime),
        )
    return Expected(runtime, Identity(runtime.directory_id, layout.role("sessions")), True)


__all__ = [
    "LOCK_FILE",
    "RUNTIME_FILE",
    "SESSIONS_FILE",
    "SHARED_FILE",
    "Expected",
    "Layout",
    "check_root",
    "directory_lock",
    "expected_identities",
    "fresh",
    "has_data",
    "init_projection",
]
