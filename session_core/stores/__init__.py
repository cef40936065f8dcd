"""Store protocols and backends (``memory``, ``sqlite``)."""

from session_core.stores.base import (
    AuditEvent,
    AuditLog,
    RowSummary,
    RuntimeStore,
    SessionStore,
    StoredRow,
)

__all__ = ["AuditEvent", "AuditLog", "RowSummary", "RuntimeStore", "SessionStore", "StoredRow"]
