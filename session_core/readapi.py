"""The consumer read API (what SDK and orchestrator clients call).

* ``list_sessions()``: every session with its authority/projection revisions, turn counts and
  lag (committed user turns the projection does not show yet).
* ``read_transcript(sid, source="projection" | "authority")``: a projection row is served only
  when every retained rewrite is audited (``UnauditedRow`` otherwise).
* ``follow(sid)``: yields the projection each time a per-turn save changes it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from session_core.codec import decode_session
from session_core.errors import SessionNotFound
from session_core.model import Lifecycle, RuntimeState, Session
from session_core.projection import check_audited
from session_core.stores.base import AuditLog, RuntimeStore, SessionStore

Source = Literal["projection", "authority"]


@dataclass(frozen=True)
class SideView:
    revision: str | None
    turns: int
    duplicates: int
    messages: int


@dataclass(frozen=True)
class SessionView:
    session_id: str
    lifecycle: Lifecycle
    authority: SideView
    projection: SideView
    receipts: int
    runtime_state: RuntimeState | None

    @property
    def lag(self) -> int:
        """Committed turns not yet visible in the projection (0 when in sync)."""
        return self.authority.turns - self.projection.turns

    @property
    def in_sync(self) -> bool:
        return self.authority.revision == self.projection.revision

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.session_id,
            "authority": {
                "revision": self.authority.revision,
                "turns": self.authority.turns,
                "receipts": self.receipts,
                "duplicates": self.authority.duplicates,
            },
            "projection": {"revision": self.projection.revision, "turns": self.projection.turns},
            "lag": self.lag,
        }


def side_view(session: Session | None) -> SideView:
    if session is None:
        return SideView(None, 0, 0, 0)
    counts = Counter(session.user_input_ids())
    duplicates = sum(n for n in counts.values() if n > 1)
    return SideView(session.revision, sum(counts.values()), duplicates, len(session.messages))


class SessionReader:
    def __init__(
        self, sessions: SessionStore, audit: AuditLog, runtime: RuntimeStore | None = None
    ) -> None:
        self.sessions = sessions
        self.audit = audit
        self.runtime = runtime

    def session_ids(self) -> list[str]:
        ids = {row.session_id for row in self.sessions.list()}
        if self.runtime is not None:
            ids.update(self.runtime.session_ids())
        return sorted(ids)

    def list_sessions(self) -> list[SessionView]:
        return [self.view(sid) for sid in self.session_ids()]

    def view(self, session_id: str) -> SessionView:
        row = self.sessions.load(session_id)
        authority = row if self.runtime is None else self._authority(session_id)
        state = None if self.runtime is None else self.runtime.runtime_state(session_id)
        receipts = 0 if self.runtime is None else len(self.runtime.receipts(session_id))
        archived = state is RuntimeState.RETIRED or (row is not None and row.archived)
        lifecycle = Lifecycle.ARCHIVED if archived else Lifecycle.ACTIVE
        return SessionView(
            session_id, lifecycle, side_view(authority), side_view(row), receipts, state
        )

    def _authority(self, session_id: str) -> Session | None:
        assert self.runtime is not None
        if self.runtime.runtime_state(session_id) is None:
            return None
        data = self.runtime.load_snapshot(session_id)
        if data is None:
            return None
        return decode_session(data, session_id=session_id, path=self.runtime.location)

    def read_transcript(self, session_id: str, source: Source = "projection") -> Session:
        if source == "authority" and self.runtime is not None:
            session = self._authority(session_id)
            if session is None:
                raise SessionNotFound("no committed snapshot", session_id=session_id)
            if self.runtime.runtime_state(session_id) is RuntimeState.RETIRED:
                session = session.with_lifecycle(Lifecycle.ARCHIVED)
            return session
        row = self.sessions.load(session_id)
        if row is None:
            raise SessionNotFound("no projection row", session_id=session_id)
        check_audited(row, self.audit)
        return row

    def follow(
        self,
        session_id: str,
        *,
        after: str | None = None,
        poll_interval: float = 0.02,
        timeout: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[Session]:
        """Yield the projection each time its row changes (``after``: last seen revision)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        last = after
        while True:
            row = self.sessions.load_row(session_id)
            if row is not None and row.session.revision != last:
                check_audited(row.session, self.audit)
                last = row.session.revision
                yield row.session
            if stop is not None and stop():
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(poll_interval)
