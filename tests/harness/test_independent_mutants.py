"""Scenarios closing survivors of an independent mutant set (realistic lease and group-commit
bugs written without reading the harness): each passes on the real core and fails with its bug
seeded."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pytest

from harness.core import Core
from harness.runner import RunConfig, run
from harness.scenario import Scenario, load_all
from session_core.lease import LeaseOwner
from session_core.model import Receipt, RuntimeState
from session_core.stores import guards
from session_core.stores.sqlite_batch import WriteRequest, run_batch

BACKENDS = ("memory", "sqlite")


def scenario(scenario_id: str) -> Scenario:
    return next(s for s in load_all() if s.id == scenario_id)


def zombie_completion(scenario_id: str, backend: str) -> tuple[str, dict[str, object]]:
    result = run(RunConfig(scenario(scenario_id), backend))
    assert result.ok, result.violations
    done = [e for e in result.history.events if e.step == "zombie" and e.type != "invoke"]
    assert len(done) == 1
    return done[0].type, done[0].value


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stale_run_commit_is_refused_on_the_real_core(backend: str) -> None:
    kind, value = zombie_completion("stale-run-commit-fenced", backend)
    assert kind == "fail"
    assert value["error"] == "ReceiptConflict"
    assert value["stale"] != value["run"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unfenced_lease_is_caught(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = guards.check_receipt_slot

    def unfenced(
        receipt: Receipt,
        state: RuntimeState,
        active_run: str | None,
        existing: Sequence[Receipt],
        kind: str,
    ) -> None:  # the lease holder is no longer compared: any run may write
        real(receipt, state, receipt.run_id, existing, kind)

    monkeypatch.setattr(guards, "check_receipt_slot", unfenced)
    result = run(RunConfig(scenario("stale-run-commit-fenced"), backend))
    assert "expect.outcome" in [v.checker for v in result.violations]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_release_does_not_block_the_next_turn(backend: str) -> None:
    result = run(RunConfig(scenario("abort-release-fails-next-turn-runs"), backend))
    assert result.ok, result.violations


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_lease_kept_by_an_ended_run_is_caught(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = LeaseOwner.holder_alive

    def own_lease_alive(self: LeaseOwner, holder: str | None, session_id: str, run: str) -> bool:
        if holder is not None and holder.endswith(self.nonce):
            return True  # our own lease: alive even after its run ended
        return real(self, holder, session_id, run)

    monkeypatch.setattr(LeaseOwner, "holder_alive", own_lease_alive)
    result = run(RunConfig(scenario("abort-release-fails-next-turn-runs"), backend))
    assert "expect.outcome" in [v.checker for v in result.violations]


class _NoMemberRollback:
    """A connection on which a batch member's ``ROLLBACK TO`` does nothing (the savepoint is
    only released): a refused member's writes stay in the batch."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith("ROLLBACK TO"):
            return self.conn.execute("SELECT 1")
        return self.conn.execute(sql, *args)


def leaky_batch(conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
    run_batch(_NoMemberRollback(conn), batch)  # type: ignore[arg-type]


def test_a_refused_batch_member_leaves_nothing_on_the_real_core() -> None:
    result = run(RunConfig(scenario("batch-refused-member-leaves-nothing"), "sqlite"))
    assert result.ok, result.violations
    busy = [e for e in result.history.events if e.step == "busy" and e.type != "invoke"]
    assert [(e.type, e.value.get("cause")) for e in busy] == [("fail", "SessionBusy")]


def test_a_refused_member_kept_in_its_batch_is_caught() -> None:
    core = Core(name="leaky-batch", batch_runner=leaky_batch)
    result = run(RunConfig(scenario("batch-refused-member-leaves-nothing"), "sqlite", core))
    assert "definite_failure_no_effect" in [v.checker for v in result.violations]
