"""``lanes audit history``: real git history, a real bash detector, the real ``lanes`` process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.audit_helpers import (
    AUDIT_YML,
    HISTORY,
    LEGACY_MAP,
    history_repo,
    lanes,
    lanes_json,
    write_detector,
)
from tests.lanes.fixtures import commit_all, git, write_files

RANGE = "HEAD~6..HEAD"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    return history_repo(tmp_path_factory.mktemp("history"))


@pytest.fixture
def repo(template: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template[0]), str(clone))
    return clone


def by_subject(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {commit["subject"]: commit for commit in data["commits"]}


def against_legacy(repo: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    script = write_detector(tmp_path)
    command = f"bash {script}"
    data: dict[str, Any] = lanes_json(
        repo,
        "audit",
        "history",
        RANGE,
        "--against-command",
        command,
        "--against-map",
        LEGACY_MAP,
        *extra,
    )
    return data


def test_the_legacy_detector_misses_exactly_the_lanes_of_the_session_fix(
    repo: Path, tmp_path: Path
) -> None:
    data = against_legacy(repo, tmp_path)
    commits = by_subject(data)
    assert [c["subject"] for c in data["commits"]] == [s for s, _ in reversed(HISTORY)]
    fix = commits["session: fix persistence"]
    assert fix["selected"] == ["sdk", "minimal", "feature", "rest"]
    assert fix["against"] == ["rest"] or fix["against"] == []
    assert sorted(fix["missed"]) == sorted(set(fix["selected"]) - set(fix["against"]))
    assert set(fix["missed"]) >= {"sdk", "minimal", "feature"}
    assert fix["extra"] == []
    for lane in fix["missed"]:
        assert fix["responsible"]["missed"][lane] == ["meerkat-session/src/persistent.rs"]
    assert fix["components"] == ["meerkat-session"]


def test_commits_the_script_handles_right_have_no_findings(repo: Path, tmp_path: Path) -> None:
    data = against_legacy(repo, tmp_path)
    for subject, commit in by_subject(data).items():
        if subject != "session: fix persistence":
            assert commit["missed"] == [] and commit["extra"] == [], subject
            assert commit["against"] == sorted(commit["selected"]), subject
    assert data["summary"]["under_triggered"] == 1
    assert data["summary"]["over_triggered"] == 0
    assert data["summary"]["commits"] == len(HISTORY)


def test_fail_on_missed_exits_1_and_the_text_names_the_missed_lanes(
    repo: Path, tmp_path: Path
) -> None:
    script = write_detector(tmp_path)
    args = ["audit", "history", RANGE, "--against-command", f"bash {script}"]
    args += ["--against-map", LEGACY_MAP]
    failing = lanes(repo, *args, "--fail-on", "missed")
    assert failing.returncode == 1, failing.stderr
    assert "failing on: missed" in failing.stderr
    assert "session: fix persistence" in failing.stdout
    assert "meerkat-session/src/persistent.rs" in failing.stdout
    assert lanes(repo, *args, "--fail-on", "extra").returncode == 0


def test_the_rest_lane_is_missed_too_because_the_script_omits_the_crate(
    repo: Path, tmp_path: Path
) -> None:
    fix = by_subject(against_legacy(repo, tmp_path))["session: fix persistence"]
    assert fix["against"] == []
    assert fix["missed"] == ["sdk", "minimal", "feature", "rest"]


def test_against_rev_compares_with_the_lanes_yml_of_that_revision(repo: Path) -> None:
    write_files(repo, {"lanes.yml": AUDIT_YML.replace("    include_optional: true\n", "")})
    old = commit_all(repo, "lanes: the old rules, without optional dependencies")
    write_files(repo, {"lanes.yml": AUDIT_YML})
    commit_all(repo, "lanes: feature follows optional dependencies")
    write_files(repo, {"meerkat-mob/src/lib.rs": "// mob\n"})
    commit_all(repo, "mob: faster")
    data = lanes_json(repo, "audit", "history", "HEAD~2..HEAD", "--against-rev", old)
    commits = by_subject(data)
    rules = commits["lanes: feature follows optional dependencies"]
    assert rules["missed"] == [] and rules["extra"] == [] and len(rules["selected"]) == 5
    mob = commits["mob: faster"]
    assert "feature" in mob["selected"]
    assert mob["missed"] == ["feature"]
    assert mob["responsible"]["missed"]["feature"] == ["meerkat-mob/src/lib.rs"]
    assert data["summary"]["under_triggered"] == 1
    assert data["summary"]["against"].startswith(f"{old}:lanes.yml")


def test_against_config_reports_missed_lanes_with_their_paths(repo: Path, tmp_path: Path) -> None:
    narrow = tmp_path / "narrow.yml"
    narrow.write_text(AUDIT_YML.replace("roots: [rkat]", "roots: [meerkat-wasm]"))
    data = lanes_json(repo, "audit", "history", RANGE, "--against-config", str(narrow))
    commits = by_subject(data)
    assert commits["rpc: new method"]["missed"] == ["minimal"]
    assert commits["rpc: new method"]["responsible"]["missed"]["minimal"] == [
        "meerkat-rpc/src/lib.rs"
    ]
    assert commits["wasm: smaller bundle"]["extra"] == ["minimal"]
    assert commits["docs: architecture"]["missed"] == []


def test_a_merge_is_diffed_against_its_first_parent(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    write_files(repo, {"meerkat-wasm/src/extra.rs": "// a\n"})
    commit_all(repo, "topic: wasm")
    write_files(repo, {"meerkat-rpc/src/extra.rs": "// b\n"})
    commit_all(repo, "topic: rpc")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
    data = lanes_json(repo, "audit", "history", "HEAD~1..HEAD")
    assert [c["subject"] for c in data["commits"]] == ["Merge topic"]
    merge = data["commits"][0]
    assert merge["components"] == ["meerkat-rpc", "meerkat-wasm"]
    assert merge["changed_paths"] == 2
    assert set(merge["selected"]) == {"sdk", "minimal", "wasm", "rest"}
    assert merge["against"] is None and merge["missed"] == []


def test_a_failing_command_fails_the_gate_by_default(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "broken.sh"
    script.write_text("#!/usr/bin/env bash\necho boom >&2\nexit 3\n")
    args = ["audit", "history", "HEAD~2..HEAD", "--against-command", f"bash {script}"]
    data = lanes_json(repo, *args, "--fail-on", "missed", expect=1)
    assert [c["against_error"] for c in data["commits"]] == ["exit 3: boom", "exit 3: boom"]
    assert data["summary"]["against_errors"] == 2
    assert data["summary"]["under_triggered"] == 0
    failed = lanes(repo, *args)
    assert failed.returncode == 1 and "failing on: against-errors" in failed.stderr
    assert lanes(repo, *args, "--allow-against-errors").returncode == 0


def test_a_command_that_prints_nothing_is_an_error_not_no_lane(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "silent.sh"
    script.write_text("#!/usr/bin/env bash\ncat >/dev/null\necho 'nothing to say'\n")
    args = ["audit", "history", "HEAD~2..HEAD", "--against-command", f"bash {script}"]
    data = lanes_json(repo, *args, expect=1)
    assert {c["against_error"] for c in data["commits"]} == {"printed no name=true|false line"}
    assert all(c["missed"] == [] and c["against"] is None for c in data["commits"])
    assert lanes_json(repo, *args, "--allow-against-errors")["summary"]["against_errors"] == 2


def test_a_hung_command_is_killed_with_its_children(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "child-survived"
    script = tmp_path / "hangs.sh"
    script.write_text(f"#!/usr/bin/env bash\n(sleep 3; touch {marker}) &\nsleep 30\n")
    args = ["audit", "history", "HEAD~1..HEAD", "--against-command", f"bash {script}"]
    data = lanes_json(repo, *args, "--against-timeout", "0.5", expect=1)
    assert data["commits"][0]["against_error"] == "timed out after 0.5s"
    import time

    time.sleep(4)
    assert not marker.exists()


def test_a_misspelt_map_key_is_reported(repo: Path, tmp_path: Path) -> None:
    script = write_detector(tmp_path)
    misspelt = LEGACY_MAP.replace("sdk_changed=sdk", "sdk_chnged=sdk")
    args = ["audit", "history", RANGE, "--against-command", f"bash {script}"]
    result = lanes(repo, *args, "--against-map", misspelt, "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "sdk_chnged" in result.stderr and "has not printed" in result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["map_never_printed"] == ["sdk_chnged"]
    assert "sdk_changed" in summary["unmapped_outputs"]


def test_without_a_map_output_names_are_lane_names(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "names.sh"
    script.write_text("#!/usr/bin/env bash\ncat >/dev/null\necho wasm=true\necho other=false\n")
    data = lanes_json(
        repo, "audit", "history", "HEAD~1..HEAD", "--against-command", f"bash {script}"
    )
    lock = data["commits"][0]
    assert lock["against"] == ["wasm"]
    assert lock["missed"] == ["sdk", "minimal", "feature", "rest"]
    assert data["summary"]["unmapped_outputs"] == ["other"]


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "history", "HEAD"],
        ["audit", "history", "--bogus..HEAD"],
        ["audit", "history", "nosuchrev..HEAD"],
        ["audit", "history", RANGE, "--against-map", "a=sdk"],
        ["audit", "history", RANGE, "--against-command", "true", "--against-map", "a=nolane"],
        ["audit", "history", RANGE, "--against-command", "/nonexistent/detector"],
        ["audit", "history", RANGE, "--against-rev", "nosuchrev"],
        ["audit", "history", RANGE, "--fail-on", "stale"],
    ],
)
def test_usage_errors_exit_2(repo: Path, args: list[str]) -> None:
    result = lanes(repo, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_plain_progress_lines_when_stderr_is_not_a_terminal(repo: Path) -> None:
    result = lanes(repo, "audit", "history", RANGE, "--format", "json")
    assert result.returncode == 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lanes audit: replayed 6 commits in ")
    assert "\x1b" not in result.stderr


def test_a_progress_bar_is_drawn_when_stderr_is_a_terminal(repo: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.lanes.audit_helpers import MAIN

    leader, follower = pty.openpty()
    with open(os.devnull, "w") as devnull:
        process = subprocess.Popen(
            [sys.executable, "-c", MAIN, "audit", "history", RANGE, "--format", "json"],
            cwd=repo,
            stdout=devnull,
            stderr=follower,
            env={**os.environ, "LANES_CACHE_DIR": str(repo / ".git" / "audit-cache")},
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        assert process.wait(timeout=120) == 0
    os.close(leader)
    assert b"replaying commits" in drawn


def test_plain_progress_is_periodic(capsys: pytest.CaptureFixture[str]) -> None:
    from lanes.commands.audit import _plain_progress

    assert list(_plain_progress(iter(range(60)), 60)) == list(range(60))
    lines = capsys.readouterr().err.splitlines()
    assert lines[:2] == [
        "lanes audit: replayed 25/60 commits",
        "lanes audit: replayed 50/60 commits",
    ]
    assert len(lines) == 3 and lines[2].startswith("lanes audit: replayed 60 commits in ")
