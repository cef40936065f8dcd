"""Group-commit batches in the harness: formed the same way on every run, every point of a
batch explored, and a batch acknowledged without its sync caught."""

from __future__ import annotations

from harness.explore import Explorer, kinds_for
from harness.runner import RunConfig, run
from harness.scenario import Scenario, load_all

BATCHED = "group-commit-batch-crash"


def scenario(sid: str) -> Scenario:
    return next(s for s in load_all() if s.id == sid)


def batch_hits(sid: str) -> list[tuple[str, str | None]]:
    result = run(RunConfig(scenario(sid), "sqlite"))
    assert result.violations == []
    return [h for h in result.hits if h[0].startswith("sqlite.")]


def test_batches_are_the_same_on_every_run_and_share_sessions() -> None:
    first = batch_hits(BATCHED)
    assert all(batch_hits(BATCHED) == first for _ in range(2))
    members = [("sqlite.batch.runtime", s) for s in ("s1", "s2", "s3")]
    starts = [i for i in range(len(first)) if first[i : i + 3] == members]
    assert starts, first  # one runtime batch holds a write of each of the three sessions
    after = first[starts[0] + 3 :]
    assert after[0][1] is None and after[0][0].startswith("sqlite.")  # one commit per batch


def test_batch_points_and_kinds() -> None:
    """Exploring the batched scenario on the correct core (zero violations, every point
    enumerated) is part of the quick tier (test_explore)."""
    assert kinds_for("sqlite.batch.runtime") == kinds_for("sqlite.batch.sessions")
    assert kinds_for("sqlite.batch.runtime") == ("crash", "error")
    assert scenario(BATCHED).explore == ("sqlite",)


def test_a_batch_acknowledged_without_its_sync_is_caught_by_exploration() -> None:
    found = Explorer(
        [scenario(BATCHED)],
        backends=("sqlite",),
        commit_sites_only=True,
        core="batch-acknowledged-unsynced",
    ).run()
    kinds = {v["fault"]["kind"] for v in found.violations if isinstance(v["fault"], dict)}
    assert "lost" in kinds
