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
from session_core.checkpointer import RunContext, StoreCheckpointer
from session_core.codec import decode_session
from session_core.errors import ProjectionCancelled, SessionCoreError
from session_core.lease import LeaseOwner
from session_core.model import Receipt, RuntimeState, Session, validate_session_id
from session_core.outcomes import Failed, Indeterminate, TurnOutcome
from session_core.service import SessionService, TurnOptions
from session_core.stores import guards, sqlite_batch
from session_core.stores.sqlite import SqliteSessionStore
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


def checkers(scenario_id: str, backend: str) -> list[str]:
    return [v.checker for v in run(RunConfig(scenario(scenario_id), backend)).violations]


def completions(scenario_id: str, backend: str) -> dict[str, tuple[str, dict[str, object]]]:
    result = run(RunConfig(scenario(scenario_id), backend))
    assert result.ok, result.violations
    return {e.step: (e.type, e.value) for e in result.history.events if e.type != "invoke"}


def test_a_failed_batch_commit_is_indeterminate_on_the_real_core() -> None:
    done = completions("failed-batch-commit-indeterminate", "sqlite")
    assert done["commit-stands"][0] == "ok"
    for label in ("lone-accept", "batched-s2", "batched-s3"):
        kind, value = done[label]
        assert (kind, value["cause"], value["commit_failed"]) == (
            "info",
            "StorageIndeterminate",
            True,
        ), label


def test_a_failed_batch_commit_answered_definitely_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = sqlite_batch._transaction

    def definite(conn: sqlite3.Connection, batch: list[WriteRequest]) -> None:
        real(conn, batch)
        for request in batch:  # the COMMIT's error kept, its members no longer indeterminate
            request.indeterminate = False

    monkeypatch.setattr(sqlite_batch, "_transaction", definite)
    assert "failed_sync_not_definite" in checkers("failed-batch-commit-indeterminate", "sqlite")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cancel_before_the_gate_lock_stops_the_projection(backend: str) -> None:
    done = completions("cancel-before-gate-lock", backend)
    cancels = [value for label, (_, value) in done.items() if label == "gate-cancel@gate.lock"]
    assert cancels, "the gate-cancel at gate.lock never fired"
    assert done["raced"][1]["cause"] == done["raced-r1"][1]["cause"] == "ProjectionCancelled"


def _project_checking_before_lock(
    self: StoreCheckpointer, session_id: str, snapshot: bytes
) -> Session:
    target = decode_session(snapshot)
    gate = self.gate(session_id)
    if gate.cancelled:  # read before the lock: a cancel landing next is not seen
        raise ProjectionCancelled("checkpointer gate cancelled", session_id=session_id)
    with gate.lock:
        stored = self.projector.project(target)
        gate.last_key = self.dedupe_key(stored)
        return stored


def _checkpoint_checking_before_lock(
    self: StoreCheckpointer, live: Session, run: RunContext
) -> bool:
    gate = self.gate(live.id)
    if gate.cancelled:
        return False
    with gate.lock:
        key = self.dedupe_key(live)
        if key == gate.last_key:
            return False
        if run.runtime_backed:
            self.checkpoint_authority(live, run)
        else:
            self.checkpoint_row(live)
        gate.last_key = key
        return True


@pytest.mark.parametrize("method", ["project_committed", "checkpoint"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_gate_flag_checked_before_the_lock_is_caught(
    backend: str, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mutated = {
        "project_committed": _project_checking_before_lock,
        "checkpoint": _checkpoint_checking_before_lock,
    }[method]
    monkeypatch.setattr(StoreCheckpointer, method, mutated)
    assert "no_write_after_cancel" in checkers("cancel-before-gate-lock", backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_stale_row_token_misses_on_the_real_core(backend: str) -> None:
    done = completions("second-writer-stale-row-token", backend)
    kind, value = done["second-writer@project.rebuild"]
    assert (kind, value["outcome"]) == ("ok", "Completed")
    assert done["rebuilding"][1]["outcome"] == "Completed"


def test_a_delete_without_its_token_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def delete_any(self: SqliteSessionStore, session_id: str, token: str) -> bool:
        validate_session_id(session_id)

        def run(conn: sqlite3.Connection) -> bool:  # the token is no longer compared
            conn.execute(
                "INSERT INTO ss_quarantine (session_id, row, token) SELECT session_id, row,"
                " token FROM ss_rows WHERE session_id = ?",
                (session_id,),
            )
            cursor = conn.execute("DELETE FROM ss_rows WHERE session_id = ?", (session_id,))
            return cursor.rowcount == 1

        return bool(self.db.write("sessions.delete_if_current", session_id, run))

    monkeypatch.setattr(SqliteSessionStore, "delete_if_current", delete_any)
    found = checkers("second-writer-stale-row-token", "sqlite")
    assert {"errors_not_swallowed", "reader_sees_every_turn"} & set(found), found


# --- mutmut survivors (session_core/service.py) ---------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_agent_error_is_let_through_on_the_real_core(backend: str) -> None:
    done = completions("agent-error-releases-run", backend)
    kind, value = done["agent-error"]
    assert (kind, value["error"], value["agent_code"]) == ("info", "AgentCodeError", True)
    assert done["next-runs"][1]["outcome"] == "Completed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_built_without_its_run_id_is_caught(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def run_begun(
        self: SessionService, run: RunContext, text: str, opts: TurnOptions
    ) -> TurnOutcome:
        session_id, input_ids = run.session_id, run.input_ids
        try:
            base = self.load_authority(session_id)
            self.checkpointer.begin(session_id, base)
            live, reply = self.run_agent(base, input_ids[0], text, run, opts)
            self.faults.hit("turn.commit", session_id)
        except SessionCoreError as exc:
            return self.abort(run, Failed(session_id, run.run_id, exc))
        except Exception as exc:  # mutmut: the run id dropped, a TypeError before the abort
            self.abort(run, Failed(session_id, SessionCoreError(repr(exc))))  # type: ignore[call-arg]
            raise
        return self.commit(run, live, reply)

    monkeypatch.setattr(SessionService, "run_begun", run_begun)
    found = checkers("agent-error-releases-run", backend)
    assert "errors_not_swallowed" in found, found


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_indeterminate_commit_names_its_run_on_the_real_core(backend: str) -> None:
    done = completions("indeterminate-names-its-run", backend)
    kind, value = done["commit-unsynced"]
    assert (kind, value["outcome"]) == ("info", "Indeterminate")
    assert isinstance(value["run"], str)  # the run its two checkpoints were written under
    kind, value = done["accept-unsynced"]
    assert (kind, value["outcome"], value["run"]) == ("info", "Indeterminate", None)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_indeterminate_without_its_run_is_caught(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def indeterminate(
        self: SessionService,
        session_id: str,
        run_id: str | None,
        input_id: str | None,
        cause: SessionCoreError,
    ) -> TurnOutcome:  # mutmut: the run id dropped
        return Indeterminate(session_id, None, input_id, cause)

    monkeypatch.setattr(SessionService, "indeterminate", indeterminate)
    found = checkers("indeterminate-names-its-run", backend)
    assert "indeterminate_names_its_run" in found, found
