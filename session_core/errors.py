"""Typed errors. Every error names the session and, for file-backed stores, the file.

``SimulatedCrash`` is deliberately a ``BaseException``: ``except Exception`` handlers must not
swallow it, so nothing after a simulated crash runs.
"""

from __future__ import annotations


class SessionCoreError(Exception):
    """Base class. ``session_id`` and ``path`` are ``None`` when not applicable."""

    retryable: bool = False

    def __init__(
        self, message: str, *, session_id: str | None = None, path: str | None = None
    ) -> None:
        self.detail = message
        self.session_id = session_id
        self.path = path
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.detail]
        if self.session_id is not None:
            parts.append(f"session={self.session_id!r}")
        if self.path is not None:
            parts.append(f"file={self.path}")
        return " ".join(parts)


class InvalidSessionId(SessionCoreError, ValueError):
    """The session id is empty, too long, or has characters outside ``[A-Za-z0-9._-]``."""


class SessionNotFound(SessionCoreError, KeyError):
    """No such session in the store that was asked."""

    def __str__(self) -> str:
        return self._render()


class SessionExists(SessionCoreError):
    """``create`` on an id that already exists."""


class SessionArchived(SessionCoreError):
    """The session is archived (or its runtime retired): archived is absorbing."""


class SessionBusy(SessionCoreError):
    """Another run holds the session's run lease."""

    retryable = True


# --- storage -------------------------------------------------------------------------------


class StorageError(SessionCoreError):
    """A store could not complete a durable operation."""

    retryable = True


class InjectedStorageError(StorageError):
    """Raised by an armed fault point (action ``error``)."""

    def __init__(self, site: str, *, session_id: str | None = None) -> None:
        self.site = site
        super().__init__(f"injected storage error at {site}", session_id=session_id)


class StoreClosed(StorageError):
    """The store was closed or crashed; build a new one over the same files/disk."""


class CorruptDatabase(StorageError):
    """The file is not a readable SQLite database."""

    retryable = False


class ForeignDatabase(StorageError):
    """The file is a SQLite database that session_core did not create."""

    retryable = False


class SchemaTooNew(StorageError):
    """The file's schema version is newer than this code supports."""

    retryable = False

    def __init__(self, found: int, supported: int, *, path: str | None = None) -> None:
        self.found = found
        self.supported = supported
        super().__init__(f"schema version {found} is newer than supported {supported}", path=path)


class UndecodableRow(StorageError):
    """A stored row or snapshot could not be decoded. ``stored_token`` is the row's stored
    CAS token when known (a runtime-backed row is quarantined by it and rebuilt)."""

    retryable = False
    stored_token: str | None = None


class StorageIndeterminate(StorageError):
    """A write's ``COMMIT`` failed (for example a failed fsync): the transaction may be durable
    (in the WAL) although this connection cannot see it. Its outcome is unknown until recovery
    (or a resend with the same input id) resolves it."""


class StoreFileInvalid(StorageError):
    """A store path cannot be used: a directory, missing, empty, unreadable or read-only."""

    retryable = False


class WrongStoreFile(StorageError):
    """The file belongs to another store or directory (swapped or misplaced files)."""

    retryable = False


class ForeignWal(StorageError):
    """A ``-wal`` file that does not belong to its database; refused before SQLite replays it."""

    retryable = False


class MigrationRequired(StorageError):
    """A read-only open found an older schema; a writing command migrates it first."""

    retryable = False


class ChecksumMismatch(StorageError):
    """A stored snapshot or projection row does not match its digest: quarantined, never
    served or copied. ``revision`` is the stored revision when known; ``stored_token`` the
    stored row token (the CAS token a quarantine deletes by)."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        session_id: str | None = None,
        path: str | None = None,
        revision: str | None = None,
        stored_token: str | None = None,
    ) -> None:
        self.revision = revision
        self.stored_token = stored_token
        super().__init__(message, session_id=session_id, path=path)

    def _render(self) -> str:
        text = super()._render()
        return text if self.revision is None else f"{text} revision={self.revision}"


class DirectoryError(StorageError):
    """The data directory as a whole is unusable: names both files and what to do."""

    retryable = False

    def __init__(self, message: str, *, files: tuple[str, ...], advice: str) -> None:
        self.files = files
        self.advice = advice
        super().__init__(f"{message} [{', '.join(files)}]; {advice}")


class StoreNotInitialized(DirectoryError):
    """Neither store file holds data: create them explicitly (``session-core init`` or a
    first ``create``); ``status`` and ``recover`` never do."""


class MissingStoreFile(DirectoryError):
    """One store file is missing or empty while the other holds data."""


class StoreIdentityMismatch(DirectoryError):
    """The two files carry different directory ids, or swapped roles."""


# --- guards --------------------------------------------------------------------------------


class ConflictError(SessionCoreError):
    """A guard refused a write; the stored state is untouched."""


class MonotonicityViolation(ConflictError):
    """A plain save would shrink the stored transcript."""

    def __init__(self, stored: int, incoming: int, *, session_id: str | None = None) -> None:
        self.stored = stored
        self.incoming = incoming
        super().__init__(
            f"transcript would shrink from {stored} to {incoming} messages", session_id=session_id
        )


class ContinuityViolation(ConflictError):
    """A same-or-longer save diverges from the stored transcript or rewrite history."""


class RevisionConflict(ConflictError):
    """A rewrite's parent revision is not the stored head, or a CAS token is stale."""


class ReceiptConflict(ConflictError):
    """A receipt ``(run_id, sequence)`` already exists, or the run does not hold the lease."""


class ReceiptMismatch(ConflictError):
    """Receipt facts do not match the committed snapshot bytes."""


class InputStateConflict(ConflictError):
    """An input transition is not allowed (unknown input, consumed twice ...)."""


class SnapshotIdentityMismatch(ConflictError):
    """Snapshot bytes belong to another session."""


class HistoryError(ConflictError):
    """A session's rewrite history is inconsistent (forged parent edge, broken chain)."""


class AuditConflict(ConflictError):
    """An audit event disagrees with an existing one."""


# --- finalization / projection -------------------------------------------------------------


class ProjectionError(SessionCoreError):
    """The post-commit projection did not complete. The commit stands; recovery re-projects."""

    retryable = True


class ProjectionCancelled(ProjectionError):
    """The session's checkpointer gate is cancelled: the projection was skipped (retryable)."""


class AuditFailure(ProjectionError):
    """An audit append failed; the unaudited row was rolled back (or quarantined)."""


class UnauditedRow(ProjectionError):
    """A projection row carries a rewrite commit without an audit event: never served."""


class CommitIndeterminate(SessionCoreError):
    """The commit raised and its outcome could not be determined; recovery resolves it."""

    retryable = True


class OperationCancelled(SessionCoreError):
    """A run or operation was cancelled (fault action ``cancel`` or an explicit cancel)."""


class SimulatedCrash(BaseException):
    """A simulated process crash: nothing after it runs. Raised by an armed fault point."""

    def __init__(self, site: str) -> None:
        self.site = site
        super().__init__(f"simulated crash at {site}")
