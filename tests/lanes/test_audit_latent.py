"""``lanes audit history``: latent gaps, merged branches, the configuration at each commit,
fail-safe records and the gate, on real git history with a real bash detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lanes.audit_helpers import (
    AUDIT_YML,
    LEGACY_MAP,
    by_subject,
    clone_of,
    history_repo,
    lanes,
    lanes_json,
    write_detector,
)
from tests.lanes.fixtures import commit_all, git, write_files

SESSION = "meerkat-session/src/persistent.rs"
SESSION_LANES = {"sdk", "minimal", "feature", "rest"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return history_repo(tmp_path_factory.mktemp("latent"))[0]


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return clone_of(template, tmp_path)


def legacy(repo: Path, tmp_path: Path, rev_range: str, *extra: str, expect: int = 0) -> Any:
    command = f"bash {write_detector(tmp_path)}"
    args = ["audit", "history", rev_range, "--against-command", command]
    return lanes_json(repo, *args, "--against-map", LEGACY_MAP, *extra, expect=expect)


def test_a_latent_gap_hidden_by_a_co_changed_path_is_reported(repo: Path, tmp_path: Path) -> None:
    write_files(repo, {SESSION: "// fsync again\n", "Cargo.lock": "# bumped\n"})
    hidden = commit_all(repo, "session fix with a lockfile bump")
    write_files(repo, {SESSION: "// and again\n", "meerkat-rpc/src/lib.rs": "// rpc\n"})
    partly = commit_all(repo, "session and rpc")

    data = legacy(repo, tmp_path, "HEAD~2..HEAD")

    commits = by_subject(data)
    bump = commits["session fix with a lockfile bump"]
    assert bump["missed"] == []  # the lockfile made the old detector run every lane
    latent = {(f["component"], f["lane"]): f for f in bump["latent"]}
    assert set(latent) == {("meerkat-session", lane) for lane in SESSION_LANES}
    assert all(f["hidden"] and f["path"] == SESSION for f in latent.values())
    gaps = {(g["component"], g["lane"]): g for g in data["summary"]["latent_gaps"]}
    for lane in SESSION_LANES:
        gap = gaps[("meerkat-session", lane)]
        assert (gap["first"], gap["last"], gap["commits"]) == (hidden, partly, 2)
        assert gap["example"] == SESSION
    # rpc's own lanes come from rpc's paths: no latent gap for meerkat-rpc
    assert not [g for g in data["summary"]["latent_gaps"] if g["component"] == "meerkat-rpc"]


def test_fail_on_latent_gates_what_missed_cannot_see(repo: Path, tmp_path: Path) -> None:
    write_files(repo, {SESSION: "// fsync again\n", "Cargo.lock": "# bumped\n"})
    commit_all(repo, "session fix with a lockfile bump")
    summary = legacy(repo, tmp_path, "HEAD~1..HEAD", "--fail-on", "missed")["summary"]
    assert summary["under_triggered"] == 0 and summary["latent_gaps"]
    legacy(repo, tmp_path, "HEAD~1..HEAD", "--fail-on", "latent", expect=1)
    no_attribution = legacy(repo, tmp_path, "HEAD~1..HEAD", "--no-attribution")
    assert no_attribution["summary"]["latent_gaps"] == []


def test_misses_are_split_into_graph_and_policy(repo: Path, tmp_path: Path) -> None:
    data = legacy(repo, tmp_path, "HEAD~6..HEAD")
    fix = by_subject(data)["session: fix persistence"]
    assert sorted(fix["missed_graph"]) == sorted(SESSION_LANES) and fix["missed_policy"] == []
    assert data["summary"]["graph_under_triggered"] == 1


def test_all_commits_replays_the_merged_branch(repo: Path, tmp_path: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    write_files(repo, {SESSION: "// on the branch\n"})
    commit_all(repo, "topic: session fix")
    write_files(repo, {"Cargo.lock": "# topic lock\n"})
    commit_all(repo, "topic: lockfile")
    git(repo, "checkout", "-q", "main")
    write_files(repo, {"meerkat-wasm/src/lib.rs": "// main moved on\n"})
    commit_all(repo, "main: wasm")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic")

    first_parent = legacy(repo, tmp_path, "HEAD~2..HEAD", "--no-attribution")
    assert [c["subject"] for c in first_parent["commits"]] == ["Merge topic", "main: wasm"]
    assert first_parent["summary"]["under_triggered"] == 0  # the merge also has Cargo.lock

    every = legacy(repo, tmp_path, "HEAD~2..HEAD", "--all-commits", "--no-attribution")
    subjects = [c["subject"] for c in every["commits"]]
    assert sorted(subjects) == sorted(
        ["Merge topic", "main: wasm", "topic: session fix", "topic: lockfile"]
    )
    fix = by_subject(every)["topic: session fix"]
    assert set(fix["missed"]) == SESSION_LANES
    assert every["summary"]["walk"] == "all-commits"


def test_each_commit_is_judged_with_the_config_at_that_commit(repo: Path) -> None:
    write_files(repo, {"lanes.yml": AUDIT_YML.replace("    include_optional: true\n", "")})
    old_rules = commit_all(repo, "lanes: no optional dependencies yet")
    write_files(repo, {"meerkat-mob/src/lib.rs": "// mob 1\n"})
    under_old = commit_all(repo, "mob: under the old rules")
    write_files(repo, {"lanes.yml": AUDIT_YML})
    commit_all(repo, "lanes: feature follows optional dependencies")
    write_files(repo, {"meerkat-mob/src/lib.rs": "// mob 2\n"})
    commit_all(repo, "mob: under the new rules")

    data = lanes_json(repo, "audit", "history", "HEAD~3..HEAD")
    commits = by_subject(data)
    assert "feature" not in commits["mob: under the old rules"]["selected"]
    assert commits["mob: under the old rules"]["config"] == f"lanes.yml at {under_old[:10]}"
    assert "feature" in commits["mob: under the new rules"]["selected"]
    assert data["summary"]["config"] == "per-commit"

    fixed = by_subject(lanes_json(repo, "audit", "history", "HEAD~3..HEAD", "--fixed-config"))
    assert "feature" in fixed["mob: under the old rules"]["selected"]
    assert fixed["mob: under the old rules"]["config"] == "lanes.yml (checked out)"
    assert old_rules


def test_a_commit_without_or_with_an_invalid_config_says_so(repo: Path) -> None:
    write_files(repo, {"lanes.yml": "version: 1\nlanes: [not, a, mapping]\n"})
    commit_all(repo, "lanes: broken")
    write_files(repo, {"lanes.yml": AUDIT_YML})
    commit_all(repo, "lanes: fixed")
    data = lanes_json(repo, "audit", "history", "HEAD~2..HEAD")
    broken = by_subject(data)["lanes: broken"]
    assert broken["config"] == "lanes.yml (checked out)"
    assert "is invalid" in broken["config_note"] and "lanes.yml at" in broken["config_note"]


def test_fail_safe_records_carry_their_codes_and_paths(repo: Path) -> None:
    write_files(repo, {"scripts/release.sh": "echo release\n"})
    commit_all(repo, "release script")
    commit = lanes_json(repo, "audit", "history", "HEAD~1..HEAD")["commits"][0]
    assert commit["mode"] == "fail-safe"
    assert commit["failsafe"] == ["unmatched"]
    assert commit["failsafe_paths"] == {"unmatched": ["scripts/release.sh"]}


def test_fail_on_a_comparison_without_one_is_a_usage_error(repo: Path) -> None:
    for condition in ("missed", "extra", "latent", "graph-missed"):
        result = lanes(repo, "audit", "history", "HEAD~2..HEAD", "--fail-on", condition)
        assert result.returncode == 2, result.stderr
        assert "needs a comparison" in result.stderr and "Traceback" not in result.stderr
    release = lanes(repo, "audit", "release", "HEAD~2..HEAD", "--fail-on", "missed")
    assert release.returncode == 2


def test_a_reversed_range_gets_a_hint(repo: Path) -> None:
    result = lanes(repo, "audit", "history", "HEAD..HEAD~2", "--format", "json")
    assert result.returncode == 0
    assert "did you mean HEAD~2..HEAD?" in result.stderr
    assert "holds 2" in result.stderr


def test_the_summary_names_the_resolved_shas(repo: Path) -> None:
    summary = lanes_json(repo, "audit", "history", "HEAD~2..HEAD")["summary"]
    assert summary["base"] == git(repo, "rev-parse", "HEAD~2").strip()
    assert summary["head"] == git(repo, "rev-parse", "HEAD").strip()


def test_one_question_per_owner_group_cached_by_paths(repo: Path, tmp_path: Path) -> None:
    """The detector sees the whole commit, then each owner group once; the same paths are asked
    once per run (``--no-cache``: every time)."""
    log = tmp_path / "questions.log"
    script = tmp_path / "logging.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        f'paths=$(cat | sort | paste -sd " " -); echo "$paths" >> {log}\n'
        "echo rest_changed=true\n"
    )
    rpc, wasm = "meerkat-rpc/src/lib.rs", "meerkat-wasm/src/lib.rs"
    write_files(repo, {rpc: "// 1\n", wasm: "// 1\n"})
    commit_all(repo, "rpc and wasm")
    write_files(repo, {rpc: "// 2\n"})
    commit_all(repo, "rpc")
    write_files(repo, {rpc: "// 3\n"})
    commit_all(repo, "rpc again")
    args = ["audit", "history", "HEAD~3..HEAD", "--against-command", f"bash {script}"]
    args += ["--against-map", "rest_changed=rest"]

    lanes_json(repo, *args)
    asked = sorted(log.read_text().splitlines())
    assert asked == sorted([f"{rpc} {wasm}", rpc, wasm])  # rpc alone: asked once, then cached

    log.unlink()
    lanes_json(repo, *args, "--no-cache")
    assert sorted(log.read_text().splitlines()) == sorted([f"{rpc} {wasm}", rpc, wasm, rpc, rpc])
