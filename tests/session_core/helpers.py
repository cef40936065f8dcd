"""Test helpers: services over a backend, with restart."""

from __future__ import annotations

from typing import Any

from session_core.conformance import Backend
from session_core.faults import NO_FAULTS, FaultPoint
from session_core.model import Session
from session_core.service import SessionService


def open_service(
    backend: Backend,
    faults: FaultPoint = NO_FAULTS,
    cls: type[SessionService] = SessionService,
    **kwargs: Any,
) -> SessionService:
    stores = backend.open(faults)
    return cls(stores.sessions, stores.audit, stores.runtime, faults=faults, **kwargs)


def authority(svc: SessionService, sid: str) -> Session:
    return svc.read(sid)


def projection(svc: SessionService, sid: str) -> Session | None:
    return svc.sessions.load(sid)


def in_sync(svc: SessionService, sid: str) -> bool:
    row = projection(svc, sid)
    return row is not None and row.revision == authority(svc, sid).revision
