"""Named fault points.

Every durable store operation and every step of the turn pipeline calls
``faults.hit(site, session_id)``. The default ``NO_FAULTS`` does nothing. A harness passes a
``FaultInjector`` to the stores and the service and arms it::

    faults = FaultInjector()
    faults.arm("runtime.atomic_apply.before", "error")          # typed StorageError
    faults.arm("turn.project", "crash", session_id="s1")         # SimulatedCrash (BaseException)
    faults.arm("turn.model_call", "cancel", skip=1)              # OperationCancelled

After a crash every later ``hit`` raises ``SimulatedCrash`` again (nothing after it runs) until
``restart()``; the memory backends keep only their ``MemoryDisk`` (durable state).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal, Protocol

from session_core.errors import InjectedStorageError, OperationCancelled, SimulatedCrash

FaultAction = Literal["error", "crash", "cancel"]

_STORE_OPS: dict[str, str] = {
    "runtime.create": "RuntimeStore.create (first snapshot)",
    "runtime.accept_input": "RuntimeStore.accept_input",
    "runtime.begin_run": "RuntimeStore.begin_run (run lease, run id allocation)",
    "runtime.record_checkpoint": "RuntimeStore.record_checkpoint (provisional checkpoint)",
    "runtime.atomic_apply": "RuntimeStore.atomic_apply (snapshot + receipt + inputs)",
    "runtime.commit_lifecycle": "RuntimeStore.commit_lifecycle (failed/cancelled run)",
    "runtime.retire": "RuntimeStore.retire",
    "runtime.clear_snapshot": "RuntimeStore.clear_snapshot_if_current",
    "runtime.replace_snapshot": "RuntimeStore.replace_snapshot_if_current",
    "sessions.save": "SessionStore.save",
    "sessions.save_rewrite": "SessionStore.save_rewrite",
    "sessions.save_if_current": "SessionStore.save_if_current",
    "sessions.delete_if_current": "SessionStore.delete_if_current",
    "audit.append": "AuditLog.append",
}

_PIPELINE: dict[str, str] = {
    "turn.accept_input": "before the input is accepted durably",
    "turn.begin_run": "before the run lease is taken",
    "turn.model_call": "before each scripted model call",
    "turn.tool_batch": "before each tool batch",
    "turn.checkpoint": "before each in-run checkpoint",
    "turn.commit": "before the run-boundary commit",
    "turn.after_commit": "after the commit returned, before the projection",
    "turn.project": "before the post-commit projection",
    "turn.resolve": "after the projection, before the outcome is returned",
    "turn.abort": "before a failed/cancelled run commits its lifecycle",
    "rewrite.commit": "before a rewrite (compaction/refresh) is committed",
    "gate.lock": "before a session's checkpointer gate lock is taken (every acquisition)",
    "project.bridge": "before a bridge save (materialize a rewrite parent)",
    "project.rewrite": "before a save_rewrite of the chain",
    "project.audit": "before the audit append of a projected rewrite",
    "project.advance": "before the head-advance save",
    "project.rollback": "before the CAS rollback of an unaudited row",
    "project.quarantine": "before delete-if-current of an unaudited row",
    "project.rebuild": "before deleting a diverged row to rebuild it",
    "archive.document": "before the Archived document save",
    "archive.retire": "before the runtime Retire",
    "recover.session": "before each session is reconciled",
    "recover.retire": "before recovery completes an interrupted archive",
    "recover.release": "before recovery releases a crashed run's lease",
    "recover.redeliver": "before recovery redelivers an accepted input",
}


def _expand() -> dict[str, str]:
    sites: dict[str, str] = {}
    for name, text in _STORE_OPS.items():
        sites[f"{name}.before"] = f"{text}: before anything is written"
        sites[f"{name}.after"] = f"{text}: after it is durable, before it returns"
    sites.update(_PIPELINE)
    return sites


SITES: dict[str, str] = _expand()
"""Every fault site with a one-line description (see docs/session_core.md)."""


class FaultPoint(Protocol):
    """What stores and the service call. Must be cheap when nothing is armed."""

    def hit(self, site: str, session_id: str | None = None) -> None: ...


class NoFaults:
    """The default fault point: does nothing."""

    __slots__ = ()

    def hit(self, site: str, session_id: str | None = None) -> None:
        return None


NO_FAULTS: FaultPoint = NoFaults()


@dataclass
class FaultRule:
    """``site`` is an exact site name or an ``fnmatch`` pattern (``"project.*"``)."""

    site: str
    action: FaultAction
    session_id: str | None = None
    skip: int = 0
    times: int = 1
    fired: int = 0
    seen: int = 0

    def matches(self, site: str, session_id: str | None) -> bool:
        if self.session_id is not None and session_id != self.session_id:
            return False
        return site == self.site or fnmatchcase(site, self.site)

    def take(self, site: str, session_id: str | None) -> bool:
        """Count one pass of ``site``; True when this pass fires the rule (after ``skip``
        matching passes, at most ``times`` times)."""
        if self.fired >= self.times or not self.matches(site, session_id):
            return False
        self.seen += 1
        if self.seen <= self.skip:
            return False
        self.fired += 1
        return True


@dataclass
class FaultInjector:
    """An armable fault point. Thread safe. ``hits`` records every site passed, in order."""

    record: bool = True
    hits: list[tuple[str, str | None]] = field(default_factory=list)
    rules: list[FaultRule] = field(default_factory=list)
    crashed_at: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def arm(
        self,
        site: str,
        action: FaultAction,
        *,
        session_id: str | None = None,
        skip: int = 0,
        times: int = 1,
    ) -> FaultRule:
        """Fire ``action`` on the ``skip+1``-th matching hit, ``times`` times in a row."""
        if not any(name == site or fnmatchcase(name, site) for name in SITES):
            raise ValueError(f"unknown fault site {site!r}")
        if action not in ("error", "crash", "cancel"):
            raise ValueError(f"unknown fault action {action!r}")
        rule = FaultRule(site, action, session_id, skip, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def disarm(self) -> None:
        with self._lock:
            self.rules.clear()

    @property
    def crashed(self) -> bool:
        return self.crashed_at is not None

    def restart(self) -> None:
        """Forget the crash and the rules (a restarted process has no armed faults)."""
        with self._lock:
            self.crashed_at = None
            self.rules.clear()

    def sites_hit(self) -> list[str]:
        with self._lock:
            return [site for site, _ in self.hits]

    def hit(self, site: str, session_id: str | None = None) -> None:
        with self._lock:
            if self.record:
                self.hits.append((site, session_id))
            if self.crashed_at is not None:
                raise SimulatedCrash(self.crashed_at)
            action = self._select(site, session_id)
            if action == "crash":
                self.crashed_at = site
        _fire(action, site, session_id)

    def _select(self, site: str, session_id: str | None) -> FaultAction | None:
        for rule in self.rules:
            if rule.take(site, session_id):
                return rule.action
        return None


def _fire(action: FaultAction | None, site: str, session_id: str | None) -> None:
    if action is None:
        return
    if action == "error":
        raise InjectedStorageError(site, session_id=session_id)
    if action == "crash":
        raise SimulatedCrash(site)
    raise OperationCancelled(f"cancelled at {site}", session_id=session_id)
