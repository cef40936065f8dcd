"""The harness fault point: ``session_core.faults.FaultInjector`` plus power loss and a
schedule that survives restarts.

* ``power-loss`` at a store's ``<op>.after`` site: the process dies there *and* the in-flight
  write is lost (the durable state is put back as it was at the matching ``<op>.before``).
  Elsewhere it behaves like ``crash``, and so it does inside a real-thread ``concurrent``
  block (a snapshot of several files is not atomic against other threads) or when another
  durable write completed in between (restoring would also undo an acknowledged write).
* ``gate-cancel``: another process cancels the session's checkpointer gate when the site is
  passed (a shutdown arriving mid-operation); nothing is raised here. ``gate_cancel`` (set by
  the executor) performs and records it.
* At the SQLite backend's commit sites (``harness.commits``): ``crash`` right after a COMMIT,
  ``torn`` (the commit's last WAL frame is lost) and ``lost`` (every write not yet synced is
  lost); ``power_cut`` (set by the world) gives the durable files after such a cut.
* ``sync-error``: the store operation raises ``StorageIndeterminate`` (a failed sync: the
  write's fate is unknown to the caller) instead of the plain injected error. At a
  ``<op>.before`` site nothing was written, at ``<op>.after`` the write is durable; either way
  the honest answer is never a definite failure (issue 13 F2).
* ``read-error``: the operation fails as with ``error`` and the next read of that session's
  runtime store fails too (a disk that went away: the check after a failed write cannot be
  made either). Reads go through ``harness.readfaults.ReadFaultRuntime``.
* ``commit-error`` at ``sqlite.sync.<file>`` (SQLite, ``harness.commits.FailingCommits``):
  the ``COMMIT`` of a write transaction or group-commit batch fails as a failed sync does,
  after SQLite wrote its frames (the write is durable); session_core must report every member
  of the batch indeterminate. The operations whose write was in that batch are marked
  (``note_commit_failed`` / ``take_commit_failed``, per thread).
* ``second-writer``: another process over the same files runs a turn of the session when the
  site is passed (a writer that makes a token read before the site stale); nothing is raised
  here. ``second_writer`` (set by the executor) performs and records it.
* Work done on behalf of another process (a gate cancel, a second writer's turn) runs
  ``outside()`` this process's faults: its sites are neither recorded nor fired.
* ``restart()`` forgets the crash but keeps rules that have not fired yet: the exploration
  schedule covers the whole run, including steps after a restart. ``disarm()`` stops all faults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from harness.commits import COMMIT_KINDS, HARNESS_SITES, SYNC_SITES, Images
from harness.scenario import FaultSpec
from session_core.errors import InjectedStorageError, SimulatedCrash, StorageIndeterminate
from session_core.faults import SITES, FaultAction, FaultInjector, FaultRule

PERSISTENT_TIMES = 1 << 30
GATE_CANCEL = "gate-cancel"
SYNC_ERROR = "sync-error"
READ_ERROR = "read-error"
COMMIT_ERROR = "commit-error"
SECOND_WRITER = "second-writer"
GateCancel = Callable[[str, str], None]
"""``(session_id, site)``: cancel that session's checkpointer gate from another process."""
SecondWriter = Callable[[str, str], None]
"""``(session_id, site)``: another process over the same files runs a turn of that session."""


@dataclass
class HarnessFaults(FaultInjector):
    power_ops: dict[str, str | None] = field(default_factory=dict)
    """``runtime.atomic_apply`` -> session filter, for armed power-loss rules."""
    snapshot: Callable[[], object] | None = None
    taken: object | None = None
    power_fired: bool = False
    kinds: dict[int, str] = field(default_factory=dict)
    threaded: bool = False
    """Set while real threads run: snapshots are not atomic then, power loss acts as a crash."""
    writes: int = 0
    """Durable operations that reached their ``.after`` site (only counted under power loss)."""
    taken_at: int = 0
    gate_rules: list[FaultRule] = field(default_factory=list)
    """Armed ``gate-cancel`` rules (they raise nothing, so they stay out of ``rules``)."""
    gate_cancel: GateCancel | None = None
    power_cut: Callable[[str, str], Images | None] | None = None
    """``(kind, file)`` -> the files to put back after a ``torn`` / ``lost`` commit cut."""
    fired_kind: str | None = None
    """The kind of the rule that fired last (``sync-error`` turns its error into
    ``StorageIndeterminate``; ``read-error`` makes the next runtime read fail too)."""
    failing_reads: dict[str, int] = field(default_factory=dict)
    """Session -> runtime store reads still to fail (``read-error``)."""
    misfired: list[str] = field(default_factory=list)
    """session_core fault sites passed that are not in ``SITES``, or without a session
    (exploration arms sites by name and session: such a site is silently never explored)."""
    commit_rules: list[FaultRule] = field(default_factory=list)
    """Armed ``commit-error`` rules (``sqlite.sync.*``: consulted at each COMMIT, never hit)."""
    writer_rules: list[FaultRule] = field(default_factory=list)
    """Armed ``second-writer`` rules (they raise nothing, so they stay out of ``rules``)."""
    second_writer: SecondWriter | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def arm_spec(self, spec: FaultSpec) -> FaultRule:
        kind = spec.kind
        if kind == GATE_CANCEL:
            return self._arm_gate(spec)
        if kind == SECOND_WRITER:
            return self._arm_writer(spec)
        if spec.site in SYNC_SITES:
            return self._arm_sync(spec)
        if spec.site in HARNESS_SITES:
            return self._arm_commit(spec)
        action = {"power-loss": "crash", SYNC_ERROR: "error", READ_ERROR: "error"}.get(kind, kind)
        times = PERSISTENT_TIMES if spec.mode == "persistent" else 1
        rule = self.arm(
            spec.site,
            action,  # type: ignore[arg-type]
            session_id=spec.session,
            skip=spec.skip,
            times=times,
        )
        self.kinds[id(rule)] = kind
        if kind == "power-loss" and spec.site.endswith(".after"):
            self.power_ops[spec.site[: -len(".after")]] = spec.session
        return rule

    def _arm_gate(self, spec: FaultSpec) -> FaultRule:
        times = PERSISTENT_TIMES if spec.mode == "persistent" else 1
        # validates the site; the rule itself is kept apart (it must never raise)
        self.arm(spec.site, "cancel", session_id=spec.session, skip=spec.skip, times=times)
        with self._lock:
            rule = self.rules.pop()
            self.gate_rules.append(rule)
        self.kinds[id(rule)] = GATE_CANCEL
        return rule

    def _arm_writer(self, spec: FaultSpec) -> FaultRule:
        times = PERSISTENT_TIMES if spec.mode == "persistent" else 1
        self.arm(spec.site, "cancel", session_id=spec.session, skip=spec.skip, times=times)
        with self._lock:
            rule = self.rules.pop()
            self.writer_rules.append(rule)
        self.kinds[id(rule)] = SECOND_WRITER
        return rule

    def _arm_sync(self, spec: FaultSpec) -> FaultRule:
        """A ``commit-error`` rule at ``sqlite.sync.<file>`` (no session: a batch has many)."""
        times = PERSISTENT_TIMES if spec.mode == "persistent" else 1
        rule = FaultRule(spec.site, "error", None, spec.skip, times)
        with self._lock:
            self.commit_rules.append(rule)
        self.kinds[id(rule)] = COMMIT_ERROR
        return rule

    def commit_fails(self, site: str) -> bool:
        """Whether this ``COMMIT`` (at ``sqlite.sync.<file>``) fails (``commit-error``)."""
        if not self.commit_rules or self.crashed_at is not None or self._outside():
            return False
        with self._lock:
            return any(rule.take(site, None) for rule in self.commit_rules)

    def note_commit_failed(self) -> None:
        """The current thread's operation had a write in a batch whose COMMIT failed."""
        self._local.commit_failed = True

    def take_commit_failed(self) -> bool:
        failed = bool(getattr(self._local, "commit_failed", False))
        self._local.commit_failed = False
        return failed

    @contextmanager
    def outside(self) -> Iterator[None]:
        """Run work of another process (a gate cancel, a second writer) in this thread without
        this process's faults: its sites are neither recorded nor fired."""
        before = self._outside()
        self._local.outside = True
        try:
            yield
        finally:
            self._local.outside = before

    def _outside(self) -> bool:
        return bool(getattr(self._local, "outside", False))

    def _arm_commit(self, spec: FaultSpec) -> FaultRule:
        """A commit-site rule (not a session_core site, so ``arm`` would refuse it)."""
        times = PERSISTENT_TIMES if spec.mode == "persistent" else 1
        action = "crash" if spec.kind in (*COMMIT_KINDS, "power-loss") else spec.kind
        rule = FaultRule(spec.site, action, spec.session, spec.skip, times)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(rule)
        self.kinds[id(rule)] = spec.kind
        return rule

    def _commit_hit(self, site: str, session_id: str | None) -> None:
        fired_before = self._fired()
        try:
            super().hit(site, session_id)
        except SimulatedCrash:
            if self.crashed_at == site and self._fired() > fired_before:
                self._cut(site)
            raise

    def _cut(self, site: str) -> None:
        for rule in self.rules:
            kind = self.kinds.get(id(rule))
            if rule.site == site and rule.fired and kind in COMMIT_KINDS:
                cut = self.power_cut
                images = None if cut is None else cut(kind, site.rsplit(".", 1)[-1])
                if images is not None:
                    self.taken, self.power_fired = images, True
                return

    def _gate_fires(self, site: str, session_id: str | None) -> bool:
        with self._lock:
            return any(rule.take(site, session_id) for rule in self.gate_rules)

    def _writer_fires(self, site: str, session_id: str | None) -> bool:
        with self._lock:
            return any(rule.take(site, session_id) for rule in self.writer_rules)

    def _select(self, site: str, session_id: str | None) -> FaultAction | None:
        for rule in self.rules:
            if rule.take(site, session_id):
                self.fired_kind = self.kinds.get(id(rule))
                return rule.action
        return None

    def hit(self, site: str, session_id: str | None = None) -> None:
        try:
            self._hit(site, session_id)
        except InjectedStorageError as exc:
            kind, self.fired_kind = self.fired_kind, None
            if exc.site == site and kind == READ_ERROR and session_id is not None:
                with self._lock:
                    self.failing_reads[session_id] = 1
            if exc.site != site or kind != SYNC_ERROR:
                raise
            raise StorageIndeterminate(
                f"injected sync failure at {site}", session_id=session_id
            ) from exc

    def read(self, session_id: str) -> None:
        """A runtime store read of ``session_id`` (``harness.readfaults``): raises while a
        ``read-error`` left failing reads for that session."""
        with self._lock:
            left = self.failing_reads.get(session_id, 0)
            if left <= 0:
                return
            self.failing_reads[session_id] = left - 1
        raise InjectedStorageError(f"read after a fault ({session_id})", session_id=session_id)

    def _hit(self, site: str, session_id: str | None) -> None:
        if self._outside():
            return
        if site not in HARNESS_SITES and (site not in SITES or session_id is None):
            self.misfired.append(site if session_id is not None else f"{site} (no session)")
        if self.crashed_at is not None:
            raise SimulatedCrash(self.crashed_at)
        cancel = self.gate_cancel
        if self.gate_rules and session_id is not None and self._gate_fires(site, session_id):
            assert cancel is not None, "gate-cancel armed without an executor"
            cancel(session_id, site)
        writer = self.second_writer
        if self.writer_rules and session_id is not None and self._writer_fires(site, session_id):
            assert writer is not None, "second-writer armed without an executor"
            writer(session_id, site)
        if site in HARNESS_SITES:
            self._commit_hit(site, session_id)
            return
        if self.threaded:
            self.taken = None
        elif self.power_ops and site.endswith(".before") and self.snapshot is not None:
            op = site[: -len(".before")]
            if op in self.power_ops:
                wanted = self.power_ops[op]
                if wanted is None or wanted == session_id:
                    self.taken = self.snapshot()
                    self.taken_at = self.writes
        if not self.power_ops:
            super().hit(site, session_id)
            return
        if site.endswith(".after"):
            self.writes += 1
        fired_before = self._fired()
        try:
            super().hit(site, session_id)
        except BaseException:
            if self.crashed_at == site and self._fired() > fired_before:
                self._note_power(site)
            raise

    def _fired(self) -> int:
        return sum(rule.fired for rule in self.rules)

    def _note_power(self, site: str) -> None:
        for rule in self.rules:
            same_site = rule.site == site or fnmatchcase(site, rule.site)
            if self.kinds.get(id(rule)) == "power-loss" and rule.fired and same_site:
                # Undo the torn write only if no other durable write completed since the
                # snapshot (threads): otherwise it degrades to a crash, never losing an ack.
                alone = self.writes == self.taken_at + 1
                self.power_fired = site.endswith(".after") and self.taken is not None and alone
                return

    def restart(self) -> None:
        with self._lock:
            self.crashed_at = None
            self.rules = [r for r in self.rules if r.fired < r.times]
            self.gate_rules = [r for r in self.gate_rules if r.fired < r.times]
            self.writer_rules = [r for r in self.writer_rules if r.fired < r.times]
            self.commit_rules = [r for r in self.commit_rules if r.fired < r.times]
            self.power_fired = False
            self.failing_reads.clear()

    def disarm(self) -> None:
        super().disarm()
        with self._lock:
            self.gate_rules.clear()
            self.writer_rules.clear()
            self.commit_rules.clear()
        self.power_ops.clear()
        self.failing_reads.clear()
        self.taken = None
        self.power_fired = False

    def fired_total(self) -> int:
        with self._lock:
            armed = (*self.rules, *self.gate_rules, *self.writer_rules, *self.commit_rules)
            return sum(rule.fired for rule in armed)


__all__ = [
    "COMMIT_ERROR",
    "GATE_CANCEL",
    "PERSISTENT_TIMES",
    "READ_ERROR",
    "SECOND_WRITER",
    "SYNC_ERROR",
    "GateCancel",
    "HarnessFaults",
    "SecondWriter",
]
