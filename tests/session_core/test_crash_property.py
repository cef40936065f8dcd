"""Seeded random crashes and errors at any fault site, then restart + recovery.

Invariants checked after every scenario: every acknowledged turn is in the authority exactly
once, a definite failure left nothing behind, the projection equals the authority, archived
sessions stay archived and retired, and a second recovery writes nothing.
"""

from __future__ import annotations

import contextlib
import os
import random

import pytest

from session_core.conformance import Backend
from session_core.errors import (
    CommitIndeterminate,
    SessionArchived,
    SessionCoreError,
    SessionNotFound,
    SimulatedCrash,
)
from session_core.faults import SITES, FaultAction, FaultInjector
from session_core.model import RuntimeState
from session_core.outcomes import Failed, committed
from session_core.service import SessionService, TurnOptions

from .helpers import open_service

IDS = ("s1", "s2")


class Ledger:
    def __init__(self) -> None:
        self.acked: list[tuple[str, str]] = []
        self.failed: list[tuple[str, str]] = []
        self.archived: set[str] = set()


def workload(svc: SessionService, rng: random.Random, ledger: Ledger, steps: int) -> None:
    for sid in IDS:
        if svc.runtime is not None and svc.runtime.runtime_state(sid) is None:
            svc.create(sid)
    for step in range(steps):
        sid = rng.choice(IDS)
        roll = rng.random()
        try:
            if roll < 0.65:
                _turn(svc, sid, f"{sid}-{step}-{rng.random():.6f}", rng, ledger)
            elif roll < 0.8:
                svc.compact(sid, keep_last=rng.randint(1, 4))
            elif roll < 0.95:
                svc.refresh_system(sid, f"system v{rng.randint(0, 2)}")
            else:
                _archive(svc, sid, ledger)
        except (SessionArchived, SessionNotFound):
            continue


def _archive(svc: SessionService, sid: str, ledger: Ledger) -> None:
    try:
        svc.archive(sid)
    except SessionCoreError:
        return  # archive raises its typed errors; recovery finishes what became durable
    ledger.archived.add(sid)


def _turn(svc: SessionService, sid: str, input_id: str, rng: random.Random, ledger: Ledger) -> None:
    opts = TurnOptions(compact_keep_last=3) if rng.random() < 0.2 else None
    outcome = svc.run_turn(sid, "hello", input_id=input_id, options=opts)
    if committed(outcome):
        ledger.acked.append((sid, input_id))
    elif isinstance(outcome, Failed):
        assert not isinstance(outcome.cause, CommitIndeterminate), outcome
        ledger.failed.append((sid, input_id))


def check(svc: SessionService, ledger: Ledger) -> None:
    assert svc.runtime is not None
    for sid, input_id in ledger.acked:
        assert input_id in svc.read(sid).user_input_ids(), (sid, input_id)
    for sid, input_id in ledger.failed:
        assert input_id not in svc.read(sid).user_input_ids(), (sid, input_id)
    for view in svc.reader.list_sessions():
        assert view.authority.duplicates == 0
        assert view.in_sync and view.lag == 0, view
        row = svc.reader.read_transcript(view.session_id)  # audited, servable
        retired = svc.runtime.runtime_state(view.session_id) is RuntimeState.RETIRED
        assert row.archived == retired
        if view.session_id in ledger.archived:
            assert row.archived


def _arm_random(faults: FaultInjector, rng: random.Random, prefix: tuple[str, ...]) -> None:
    sites = sorted(s for s in SITES if s.startswith(prefix))
    actions: tuple[FaultAction, ...] = ("error", "error", "cancel")
    action = rng.choice(actions)
    faults.arm(rng.choice(sites), action, skip=rng.randint(0, 6), times=rng.randint(1, 3))
    faults.arm(rng.choice(sites), "crash", skip=rng.randint(0, 12))


@pytest.mark.parametrize("seed", range(int(os.environ.get("SESSION_CORE_CRASH_SEEDS", "12"))))
def test_random_crash_then_recover(backend: Backend, seed: int) -> None:
    rng = random.Random(seed)
    ledger = Ledger()
    faults = FaultInjector(record=False)
    _arm_random(faults, rng, ("runtime.", "sessions.", "audit.", "turn.", "project.", "arch"))
    svc = open_service(backend, faults)
    with contextlib.suppress(SimulatedCrash):
        workload(svc, rng, ledger, steps=10)
    faults = FaultInjector(record=False)  # restart; sometimes crash inside recovery too
    _arm_random(faults, rng, ("recover.", "project.", "sessions.", "runtime.commit_lifecycle"))
    svc = open_service(backend, faults)
    with contextlib.suppress(SimulatedCrash):
        svc.recover()
    faults = FaultInjector()
    svc = open_service(backend, faults)
    report = svc.recover()
    assert report.ok, report
    check(svc, ledger)
    faults.hits.clear()
    assert svc.recover().ok
    assert not [s for s in faults.sites_hit() if s.endswith(".before")]
    workload(svc, rng, ledger, steps=3)  # usable after recovery
    check(svc, ledger)
