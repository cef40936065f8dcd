"""Every invariant checker fails on a hand-built bad history (and passes the good twin)."""

from __future__ import annotations

from harness.invariants import CHECKERS, CheckContext, check
from harness.state import WorldState
from session_core.model import Message
from tests.harness.builders import Hist, accepted, doc, receipts_for, sess, world

TESTED: set[str] = set()


def verdict(name: str, hist: Hist, *states: WorldState) -> str | None:
    TESTED.add(name)
    return CHECKERS[name].fn(CheckContext(hist.history, list(states)))


def test_projection_not_ahead() -> None:
    a, ahead = doc("s1", "a"), doc("s1", "a", "b")
    h = Hist().turn("s1", "a").turn("s1", "b", "fail")
    assert verdict("projection_not_ahead", h, world(0, 4, sess("s1", a, ahead)))
    assert verdict("projection_not_ahead", h, world(0, 4, sess("s1", ahead, a))) is None


def test_projection_prefix() -> None:
    a = doc("s1", "a", "b")
    diverged = doc("s1", "a", "x")
    h = Hist().turn("s1", "a").turn("s1", "b").turn("s1", "x")
    assert verdict("projection_prefix", h, world(0, 6, sess("s1", a, diverged)))
    assert verdict("projection_prefix", h, world(0, 6, sess("s1", a, doc("s1", "a")))) is None


def test_acknowledged_durable() -> None:
    h = Hist().turn("s1", "a", outcome="Completed").turn("s1", "b", outcome="Completed")
    lost = sess("s1", doc("s1", "a"), doc("s1", "a"))
    assert verdict("acknowledged_durable", h, world(0, len(h), lost))
    kept = sess("s1", doc("s1", "a", "b"), doc("s1", "a", "b"))
    assert verdict("acknowledged_durable", h, world(0, len(h), kept)) is None


def test_definite_failure_no_effect() -> None:
    h = Hist().turn("s1", "a").turn("s1", "b", "fail", outcome="Failed")
    leaked = sess("s1", doc("s1", "a", "b"), doc("s1", "a"))
    assert verdict("definite_failure_no_effect", h, world(0, len(h), leaked))
    clean = sess("s1", doc("s1", "a"), doc("s1", "a"))
    assert verdict("definite_failure_no_effect", h, world(0, len(h), clean)) is None


def test_definite_failure_no_effect_retry_with_the_same_input_id() -> None:
    """A retry with the same id may commit the input in a run of its own; the failed attempt's
    own run committing it is still a violation."""
    retried = Hist().turn("s1", "b", "fail", outcome="Failed", run="run-9")
    retried.turn("s1", "b", outcome="Completed")
    committed = sess("s1", doc("s1", "b"), doc("s1", "b"))  # terminal receipt of run-1
    assert verdict("definite_failure_no_effect", retried, world(0, 4, committed)) is None
    own = Hist().turn("s1", "b", "fail", outcome="Failed", run="run-1")
    own.turn("s1", "b", outcome="Completed")
    assert verdict("definite_failure_no_effect", own, world(0, 4, committed))
    failed_retry = Hist().turn("s1", "b", "fail", outcome="Failed")
    failed_retry.turn("s1", "b", "fail", outcome="Failed")
    assert verdict("definite_failure_no_effect", failed_retry, world(0, 4, committed))


def test_failure_releases_lease() -> None:
    h = Hist().turn("s1", "a").turn("s1", "b", "fail", outcome="Failed", cause="InjectedError")
    free = sess("s1", doc("s1", "a"), doc("s1", "a"))
    held = sess("s1", doc("s1", "a"), doc("s1", "a"), active_run="run-2")
    before = world(0, 2, free)
    assert verdict("failure_releases_lease", h, before, world(1, 4, held))
    assert verdict("failure_releases_lease", h, before, world(1, 4, free)) is None
    busy = Hist().turn("s1", "a").turn("s1", "b", "fail", outcome="Failed", cause="SessionBusy")
    assert verdict("failure_releases_lease", busy, before, world(1, 4, held)) is None


def test_definite_failure_no_effect_rewrite() -> None:
    from dataclasses import replace

    h = Hist().turn("s1", "a").op("refresh", "s1", "fail", invoke={"text": "new"}, outcome="Failed")
    base = doc("s1", "a")
    refreshed = replace(
        base, messages=(replace(base.messages[0], content="new"), *base.messages[1:])
    )
    before = world(0, 2, sess("s1", base, base))
    changed = world(1, 4, sess("s1", refreshed, base))
    assert verdict("definite_failure_no_effect", h, before, changed)
    same = world(1, 4, sess("s1", base, base))
    assert verdict("definite_failure_no_effect", h, before, same) is None


def test_fault_sites_named() -> None:
    from dataclasses import replace

    state = world(0, 0, sess("s1", doc("s1"), doc("s1")))
    bad = replace(state, misfired=("XXturn.commitXX",))
    assert verdict("fault_sites_named", Hist(), bad)
    assert verdict("fault_sites_named", Hist(), state) is None


def test_outcome_matches_commit() -> None:
    a = doc("s1", "a")
    receipt = receipts_for(a)[0]
    right = {"outcome": "Completed", "run": "run-1", "revision": receipt.digest, "reply": "done a"}
    given = (receipt.to_json(),)
    good = Hist().turn("s1", "a", receipts=given, **right)
    final = world(0, 2, sess("s1", a, a), phase="final")
    assert verdict("outcome_matches_commit", good, final) is None
    no_receipt = Hist().turn("s1", "a", **right)
    assert verdict("outcome_matches_commit", no_receipt, final)
    wrong_run = Hist().turn("s1", "a", **{**right, "run": None})
    assert verdict("outcome_matches_commit", wrong_run, final)
    wrong_reply = Hist().turn("s1", "a", **{**right, "reply": ""})
    assert verdict("outcome_matches_commit", wrong_reply, final)


def test_documents_well_formed() -> None:
    from dataclasses import replace

    a = doc("s1", "a")
    renamed = replace(a, messages=(replace(a.messages[0], id="XXsystemXX"), *a.messages[1:]))
    role = replace(a, messages=(*a.messages[:-1], replace(a.messages[-1], role="robot")))
    h = Hist().turn("s1", "a")
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", renamed, a)))
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", a, role)))
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", a, a))) is None
    system = Message("system", "new", id="system")
    refreshed, _ = a.rewrite(0, 1, [system], "system-refresh")
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", refreshed, a))) is None
    misnamed, _ = a.rewrite(0, 1, [system], "XXsystem-refreshXX")
    message = verdict("documents_well_formed", h, world(0, 2, sess("s1", misnamed, a)))
    assert message == "s1: authority holds rewrites named ['XXsystem-refreshXX'] for what they did"
    summary = Message("system", "summary", id="summary-1-1-3")
    compacted, _ = a.rewrite(1, 3, [summary], "compaction")
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", a, compacted))) is None
    as_refresh, _ = a.rewrite(1, 3, [summary], "system-refresh")
    assert verdict("documents_well_formed", h, world(0, 2, sess("s1", a, as_refresh)))


def test_outcome_cause_names_its_session() -> None:
    ok = Hist().turn("s1", "a", "fail", outcome="Failed", of="s1", cause_of="s1")
    assert verdict("outcome_names_its_session", ok, world(0, 2, phase="final")) is None
    unnamed = Hist().turn("s1", "a", "fail", outcome="Failed", of="s1", cause_of=None)
    assert verdict("outcome_names_its_session", unnamed, world(0, 2, phase="final"))


def test_recovery_report_honest() -> None:
    good = {"runtime": True, "projection_only": [], "runtime_sessions": ["s1"]}
    state = world(0, 2, sess("s1", doc("s1"), doc("s1")))
    ok = Hist().op("recover", None, "ok", redelivered=[["s1", "a", "Completed"]], reports=[good])
    assert verdict("recovery_report_honest", ok, state) is None
    named = Hist().op("recover", None, "ok", redelivered=[["s1", "a", "NoneType"]], reports=[])
    assert verdict("recovery_report_honest", named, state)
    wrong = {"runtime": True, "projection_only": ["s1"], "runtime_sessions": []}
    marked = Hist().op("recover", None, "ok", redelivered=[], reports=[wrong])
    assert verdict("recovery_report_honest", marked, state)
    unnamed = Hist().op("recover", None, "ok", redelivered=[], error_of=[["s1", None]])
    assert verdict("recovery_report_honest", unnamed, state)
    less = {"runtime": False, "projection_only": [], "runtime_sessions": ["r1"]}
    unmarked = Hist().op("recover", None, "ok", redelivered=[], reports=[less])
    assert verdict("recovery_report_honest", unmarked, state)


def test_store_locks_held() -> None:
    from dataclasses import replace

    h = Hist().turn("s1", "a")
    state = world(0, 2, sess("s1", doc("s1", "a"), doc("s1", "a")))
    assert verdict("store_locks_held", h, replace(state, unlocked=("runtime",)))
    assert verdict("store_locks_held", h, state) is None


def test_indeterminate_resolves_once_committed_turn_never_disappears() -> None:
    h = Hist().turn("s1", "a").turn("s1", "b", "info", error="SimulatedCrash")
    before = world(0, 4, sess("s1", doc("s1", "a", "b"), doc("s1", "a")))
    after = world(1, 4, sess("s1", doc("s1", "a"), doc("s1", "a")))
    assert verdict("indeterminate_resolves_once", h, before, after)
    assert verdict("indeterminate_resolves_once", h, after, before) is None


def test_indeterminate_resolves_once_pending_after_recovery() -> None:
    h = Hist().turn("s1", "a", "info", error="SimulatedCrash")
    pending = sess("s1", doc("s1"), doc("s1"), inputs=(accepted("a"),))
    assert verdict("indeterminate_resolves_once", h, world(0, 2, pending, phase="final"))
    resolved = sess("s1", doc("s1", "a"), doc("s1", "a"))
    assert verdict("indeterminate_resolves_once", h, world(0, 2, resolved, phase="final")) is None


def test_turns_atomic_partial_turn() -> None:
    from dataclasses import replace

    from session_core.model import Message, ToolCall

    base = doc("s1", "a")
    partial = replace(
        base,
        messages=(
            *base.messages,
            Message("user", "text b", id="b"),
            Message("assistant", "", tool_calls=(ToolCall("c1", "add"),), id="run-2.0"),
        ),
    )
    h = Hist().turn("s1", "a").turn("s1", "b", "info")
    assert verdict("turns_atomic", h, world(0, 4, sess("s1", partial, base)))
    assert verdict("turns_atomic", h, world(0, 4, sess("s1", base, base))) is None


def test_turns_atomic_message_of_uncommitted_run() -> None:
    a = doc("s1", "a")
    h = Hist().turn("s1", "a")
    no_receipt = sess("s1", a, a, receipts=())
    assert verdict("turns_atomic", h, world(0, 2, no_receipt))


def test_receipts_dense_unique() -> None:
    from dataclasses import replace

    a = doc("s1", "a", "b")
    good = receipts_for(a)
    gap = (good[0], replace(good[1], sequence=3))
    h = Hist().turn("s1", "a").turn("s1", "b")
    assert verdict("receipts_dense_unique", h, world(0, 4, sess("s1", a, a, receipts=gap)))
    assert verdict("receipts_dense_unique", h, world(0, 4, sess("s1", a, a))) is None
    stale = receipts_for(a, count=1)
    assert verdict("receipts_dense_unique", h, world(0, 4, sess("s1", a, a, receipts=stale)))


def test_receipts_run_id_reused_across_restarts() -> None:
    a = doc("s1", "a", "b")
    h = Hist().turn("s1", "a", run="run-1").turn("s1", "b", run="run-1")
    assert verdict("receipts_dense_unique", h, world(0, 4, sess("s1", a, a)))
    retry = Hist().turn("s1", "a", run="run-1").turn("s1", "a", run="run-1")
    assert verdict("receipts_dense_unique", retry, world(0, 4, sess("s1", a, a))) is None


def test_sessions_isolated() -> None:
    h = Hist().turn("s1", "a").turn("s2", "b")
    foreign = sess("s1", doc("s1", "a", "b"), doc("s1", "a"))
    assert verdict("sessions_isolated", h, world(0, 4, foreign))
    own = sess("s1", doc("s1", "a"), doc("s1", "a"))
    assert verdict("sessions_isolated", h, world(0, 4, own)) is None


def test_reads_monotonic() -> None:
    proj = {"source": "projection"}
    h = (
        Hist()
        .op("read", "s1", "ok", invoke=proj, turns=["a", "b"], lag=0)
        .op("read", "s1", "ok", invoke=proj, turns=["a"], lag=0)
    )
    s = world(0, len(h), sess("s1", doc("s1", "a", "b"), doc("s1", "a", "b")))
    assert verdict("reads_monotonic", h, s)
    lagging = (
        Hist()
        .op("read", "s1", "ok", invoke=proj, turns=["a", "b"], lag=0)
        .op("read", "s1", "ok", invoke=proj, turns=["a"], lag=1)
    )
    assert verdict("reads_monotonic", lagging, s) is None


def test_errors_not_swallowed_completed_while_projection_lags() -> None:
    a = doc("s1", "a")
    h = Hist().turn("s1", "a", outcome="Completed", revision=a.revision)
    assert verdict("errors_not_swallowed", h, world(0, len(h), sess("s1", a, doc("s1"))))
    assert verdict("errors_not_swallowed", h, world(0, len(h), sess("s1", a, a))) is None


def test_errors_not_swallowed_untyped_error() -> None:
    h = Hist().turn("s1", "a", "info", error="KeyError", untyped=True)
    assert verdict("errors_not_swallowed", h, world(0, len(h), sess("s1", doc("s1"), doc("s1"))))


def test_archived_absorbing() -> None:
    a = doc("s1", "a")
    h = Hist().turn("s1", "a")
    retired_active = sess("s1", a, a, runtime_state="retired")
    assert verdict("archived_absorbing", h, world(0, 2, retired_active))
    archived = doc("s1", "a", archived=True)
    fine = sess("s1", a, archived, runtime_state="retired")
    assert verdict("archived_absorbing", h, world(0, 2, fine)) is None
    revived = Hist().turn("s1", "a").op("archive", "s1", "ok").turn("s1", "b")
    assert verdict("archived_absorbing", revived, world(0, len(revived), fine))


def test_liveness_converged() -> None:
    a = doc("s1", "a", "b")
    h = Hist().turn("s1", "a").turn("s1", "b")
    lagging = sess("s1", a, doc("s1", "a"))
    assert verdict("liveness_converged", h, world(0, 4, lagging, phase="final"))
    assert verdict("liveness_converged", h, world(0, 4, sess("s1", a, a), phase="final")) is None


def test_recovery_idempotent() -> None:
    a = doc("s1", "a")
    h = Hist().turn("s1", "a")
    first = world(0, 2, sess("s1", a, a), phase="final")
    changed = world(1, 2, sess("s1", doc("s1", "a", "a2"), a), phase="idempotent")
    assert verdict("recovery_idempotent", h, first, changed)
    same = world(1, 2, sess("s1", a, a), phase="idempotent")
    assert verdict("recovery_idempotent", h, first, same) is None


def test_turns_exactly_once() -> None:
    h = Hist().turn("s1", "a")
    twice = doc("s1", "a", "a")
    assert verdict("turns_exactly_once", h, world(0, 2, sess("s1", twice, None)))
    once = doc("s1", "a")
    assert verdict("turns_exactly_once", h, world(0, 2, sess("s1", once, once))) is None


def test_reader_sees_every_turn() -> None:
    proj = {"source": "projection"}
    h = Hist().turn("s1", "a", outcome="Completed").op("read", "s1", "ok", invoke=proj, turns=[])
    s = world(0, len(h), sess("s1", doc("s1", "a"), doc("s1", "a")))
    assert verdict("reader_sees_every_turn", h, s)
    ok = (
        Hist().turn("s1", "a", outcome="Completed").op("read", "s1", "ok", invoke=proj, turns=["a"])
    )
    assert verdict("reader_sees_every_turn", ok, s) is None


def test_bad_input_refused() -> None:
    damaged = Hist().op("corrupt", None, "ok", file="sessions", digest="d1")
    opened = (
        Hist().op("corrupt", None, "ok", file="sessions", digest="d1").op("restart", None, "ok")
    )
    s = world(0, 2)
    assert verdict("bad_input_refused", opened, s)
    modified = (
        Hist()
        .op("corrupt", None, "ok", file="sessions", digest="d1")
        .op("restart", None, "fail", error="CorruptDatabase", digests={"sessions": "d2"})
    )
    assert verdict("bad_input_refused", modified, s)
    refused = (
        Hist()
        .op("corrupt", None, "ok", file="sessions", digest="d1")
        .op("restart", None, "fail", error="CorruptDatabase", digests={"sessions": "d1"})
    )
    assert verdict("bad_input_refused", refused, s) is None
    assert verdict("bad_input_refused", damaged, s) is None


def test_per_turn_sync() -> None:
    h = Hist().turn("s1", "a")
    lag = sess("s1", doc("s1", "a"), doc("s1"))
    assert verdict("per_turn_sync", h, world(0, 2, lag))
    assert verdict("per_turn_sync", h, world(0, 2, sess("s1", doc("s1"), doc("s1")))) is None


def test_outcome_names_its_session() -> None:
    wrong = Hist().turn("s1", "a", outcome="Completed", of=None)
    empty = world(0, len(wrong), phase="final")
    assert verdict("outcome_names_its_session", wrong, empty)
    right = Hist().turn("s1", "a", outcome="Completed", of="s1")
    assert verdict("outcome_names_its_session", right, empty) is None


def test_create_outcome_honest() -> None:
    exists = Hist().op("create", "s1", "fail", error="SessionExists")
    made = sess("s1", doc("s1"), doc("s1"))
    assert verdict("create_outcome_honest", exists, world(0, len(exists), made))
    twice = Hist().op("create", "s1", "ok").op("create", "s1", "fail", error="SessionExists")
    assert verdict("create_outcome_honest", twice, world(0, len(twice), made)) is None


def test_no_write_after_cancel() -> None:
    before, after = doc("s1", "a"), doc("s1", "a", "b")
    h = Hist().turn("s1", "a").op("cancel", "s1", "ok", row=before.revision).turn("s1", "b")
    written = sess("s1", after, after)
    assert verdict("no_write_after_cancel", h, world(0, len(h), written))
    assert verdict("no_write_after_cancel", h, world(0, len(h), sess("s1", after, before))) is None
    restarted = Hist().op("cancel", "s1", "ok", row=before.revision).op("restart", None, "ok")
    assert verdict("no_write_after_cancel", restarted, world(0, len(restarted), written)) is None


def test_no_write_after_a_failed_archive() -> None:
    """An archive cancels the gate first: one that failed leaves it cancelled."""
    before, after = doc("s1", "a"), doc("s1", "a", "b")
    failed = (
        Hist()
        .turn("s1", "a")
        .op("archive", "s1", "info", error="InjectedStorageError", row=before.revision)
    )
    failed.turn("s1", "b")
    written = sess("s1", after, after)
    assert verdict("no_write_after_cancel", failed, world(0, len(failed), written))
    kept = sess("s1", after, before)
    assert verdict("no_write_after_cancel", failed, world(0, len(failed), kept)) is None
    archived = Hist().turn("s1", "a").op("archive", "s1", "ok").turn("s1", "b")
    assert verdict("no_write_after_cancel", archived, world(0, len(archived), written)) is None


def test_failed_sync_not_definite() -> None:
    failed = Hist().turn("s1", "a", "fail", outcome="Failed", cause="StorageIndeterminate")
    empty = world(0, len(failed))
    assert verdict("failed_sync_not_definite", failed, empty)
    unknown = Hist().turn("s1", "a", "info", outcome="Indeterminate", cause="StorageIndeterminate")
    assert verdict("failed_sync_not_definite", unknown, world(0, len(unknown))) is None
    other = Hist().turn("s1", "a", "fail", outcome="Failed", cause="InjectedStorageError")
    assert verdict("failed_sync_not_definite", other, world(0, len(other))) is None


def test_replyless_ops_answer_empty() -> None:
    said = Hist().op("compact", "s1", "ok", outcome="Completed", reply=None)
    assert verdict("replyless_ops_answer_empty", said, world(0, len(said)))
    empty = Hist().op("refresh", "s1", "ok", outcome="Completed", reply="")
    assert verdict("replyless_ops_answer_empty", empty, world(0, len(empty))) is None


def test_authority_read_current() -> None:
    a, lagging = doc("s1", "a", "b"), doc("s1", "a")
    stale = Hist().op("read", "s1", "ok", invoke={"source": "authority"}, revision=lagging.revision)
    state = world(0, len(stale), sess("s1", a, lagging))
    assert verdict("authority_read_current", stale, state)
    fresh = Hist().op("read", "s1", "ok", invoke={"source": "authority"}, revision=a.revision)
    assert (
        verdict("authority_read_current", fresh, world(0, len(fresh), sess("s1", a, lagging)))
        is None
    )


def test_create_keeps_system_prompt() -> None:
    made = doc("s1")
    given = Hist().op("create", "s1", "ok", invoke={"system": made.messages[0].content})
    assert (
        verdict("create_keeps_system_prompt", given, world(0, len(given), sess("s1", made, made)))
        is None
    )
    other = Hist().op("create", "s1", "ok", invoke={"system": "another prompt"})
    assert verdict(
        "create_keeps_system_prompt", other, world(0, len(other), sess("s1", made, made))
    )
    default = Hist().op("create", "s1", "ok", invoke={"default_system": "sys"})
    state = world(0, len(default), sess("s1", made, made))
    assert verdict("create_keeps_system_prompt", default, state) is None
    no_default = Hist().op("create", "s1", "ok", invoke={"default_system": "the default"})
    state = world(0, len(no_default), sess("s1", made, made))
    assert verdict("create_keeps_system_prompt", no_default, state)


def test_user_message_as_sent() -> None:
    stored = doc("s1", "a")  # the user message of input a holds "text a"
    sent = Hist().op("turn", "s1", "ok", invoke={"input": "a", "text": "text a"})
    good = world(0, len(sent), sess("s1", stored, stored))
    assert verdict("user_message_as_sent", sent, good) is None
    other = Hist().op("turn", "s1", "ok", invoke={"input": "a", "text": "another text"})
    in_row = verdict("user_message_as_sent", other, world(0, len(other), sess("s1", None, stored)))
    assert in_row == "s1: projection holds 'text a' for input 'a'"
    assert verdict("user_message_as_sent", other, world(0, len(other), sess("s1", stored, None)))


def test_foreign_snapshot_refused() -> None:
    planted = Hist().op("plant_snapshot", "s1", "ok", invoke={"stash": "s2-bytes"})
    refused = planted.op("recover", None, "ok", errors=["s1:UndecodableRow"])
    assert verdict("foreign_snapshot_refused", refused, world(0, len(refused))) is None
    adopted = Hist().op("plant_snapshot", "s1", "ok", invoke={"stash": "s2-bytes"})
    adopted.op("recover", None, "ok", errors=["s2:UndecodableRow"])
    message = verdict("foreign_snapshot_refused", adopted, world(0, len(adopted)))
    assert message == "['s1']: recovery adopted a foreign runtime snapshot"
    unplanted = Hist().op("recover", None, "ok", errors=[])
    assert verdict("foreign_snapshot_refused", unplanted, world(0, len(unplanted))) is None


def test_indeterminate_names_its_input() -> None:
    named = Hist().turn("s1", "a", "info", outcome="Indeterminate", pending="a")
    assert verdict("indeterminate_names_its_input", named, world(0, len(named))) is None
    unnamed = Hist().turn("s1", "a", "info", outcome="Indeterminate", pending=None)
    message = verdict("indeterminate_names_its_input", unnamed, world(0, len(unnamed)))
    assert message == "s1: turn indeterminate for input None"
    rewrite = Hist().op("compact", "s1", "info", outcome="Indeterminate", pending="a")
    assert verdict("indeterminate_names_its_input", rewrite, world(0, len(rewrite)))
    create = Hist().op("create", "s1", "info", outcome="Indeterminate", pending=None)
    assert verdict("indeterminate_names_its_input", create, world(0, len(create))) is None


def test_indeterminate_names_its_run() -> None:
    from session_core.codec import derive_receipt, encode_session

    a = doc("s1", "a")
    before = world(0, 2, sess("s1", a, a))
    checkpoint = derive_receipt(
        encode_session(doc("s1", "a", "b")),
        session_id="s1",
        run_id="run-2",
        sequence=1,
        kind="checkpoint",
        input_ids=("b",),
    )
    wrote = sess("s1", a, a, receipts=(*receipts_for(a), checkpoint), inputs=(accepted("b"),))
    unnamed = Hist().turn("s1", "a")
    unnamed.turn("s1", "b", "info", outcome="Indeterminate", run=None, pending="b")
    message = verdict("indeterminate_names_its_run", unnamed, before, world(1, 4, wrote))
    assert message == "s1: turn b indeterminate naming run None, but it wrote receipts of run run-2"
    named = Hist().turn("s1", "a")
    named.turn("s1", "b", "info", outcome="Indeterminate", run="run-2", pending="b")
    assert verdict("indeterminate_names_its_run", named, before, world(1, 4, wrote)) is None
    nothing = sess("s1", a, a, inputs=(accepted("b"),))  # a failed accept: no run to name
    assert verdict("indeterminate_names_its_run", unnamed, before, world(1, 4, nothing)) is None


def test_unaudited_never_served() -> None:
    row = doc("s1", "a")
    h = (
        Hist()
        .turn("s1", "a")
        .op("read", "s1", "ok", invoke={"source": "projection"}, revision=row.revision)
    )
    served = world(0, len(h), sess("s1", row, row, unaudited=True))
    assert verdict("unaudited_never_served", h, served)
    audited = world(0, len(h), sess("s1", row, row))
    assert verdict("unaudited_never_served", h, audited) is None


def test_opt_in_checkers_only_run_when_asked() -> None:
    h = Hist().turn("s1", "a", outcome="CompletedWithFinalizationFailure")
    ctx = CheckContext(h.history, [world(0, 2, sess("s1", doc("s1", "a"), doc("s1")))])
    assert "per_turn_sync" not in {v.checker for v in check(ctx)}
    assert "per_turn_sync" in {v.checker for v in check(ctx, ["per_turn_sync"])}


def test_unreadable_states_are_skipped() -> None:
    bad = WorldState(0, "x", "step", 0, {}, "CorruptDatabase")
    assert check(CheckContext(Hist().history, [bad])) == []


def test_zz_every_checker_has_a_failing_case() -> None:
    assert set(CHECKERS) == TESTED
