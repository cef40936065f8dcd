"""Run-lease holders: who holds a session's run lease, and whether that holder can still write.

A lease records its holder (``LeaseOwner.token``: boot id, process id, process start time and
a per-store nonce) and an expiry. ``begin_run`` takes a held lease over when the holder is
dead (another boot, no such process, a reused pid, a closed or crashed store of this process,
or a run of this store that already ended) or the lease expired. The takeover is fenced: the
run counter is the lease generation, every later write of the old run names the old ``run-N``
and is refused (``ReceiptConflict``) because the session's active run is no longer it.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

LEASE_TTL = 30.0
"""Seconds a lease stays valid without renewal (``record_checkpoint`` renews it)."""

_LIVE: set[str] = set()
_LIVE_LOCK = threading.Lock()


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None


BOOT_ID = _read("/proc/sys/kernel/random/boot_id") or ""


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), ``None`` if unknown."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LeaseOwner:
    """The holder identity of one store object (its runs are the ones it began)."""

    def __init__(self) -> None:
        self.nonce = uuid.uuid4().hex
        self.pid = os.getpid()
        self.start = process_start(self.pid) or ""
        self.token = f"{BOOT_ID}/{self.pid}/{self.start}/{self.nonce}"
        self.runs: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        with _LIVE_LOCK:
            _LIVE.add(self.nonce)

    def began(self, session_id: str, run_id: str) -> None:
        with self._lock:
            self.runs.add((session_id, run_id))

    def ended(self, session_id: str, run_id: str | None) -> None:
        if run_id is not None:
            with self._lock:
                self.runs.discard((session_id, run_id))

    def close(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self.nonce)
        with self._lock:
            self.runs.clear()

    def holder_alive(self, holder: str | None, session_id: str, run_id: str) -> bool:
        """Can the holder of ``run_id`` still be running it?"""
        parts = (holder or "").split("/")
        if len(parts) != 4 or not parts[1].isdigit():
            return False
        boot, pid_text, start, nonce = parts
        if nonce == self.nonce:
            with self._lock:
                return (session_id, run_id) in self.runs
        pid = int(pid_text)
        if pid == self.pid and boot == BOOT_ID and start == self.start:
            with _LIVE_LOCK:
                return nonce in _LIVE
        if boot and BOOT_ID and boot != BOOT_ID:
            return False
        now = process_start(pid)
        if now is None:
            return _pid_exists(pid) if not start else False
        return now == start


def lease_free(
    owner: LeaseOwner,
    holder: str | None,
    expires: float | None,
    now: float,
    session_id: str,
    run_id: str,
) -> bool:
    """A held lease may be taken over: its holder is dead or it expired."""
    if expires is not None and expires < now:
        return True
    return not owner.holder_alive(holder, session_id, run_id)


__all__ = ["BOOT_ID", "LEASE_TTL", "LeaseOwner", "lease_free", "process_start"]
