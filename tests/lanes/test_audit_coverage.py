"""``lanes audit coverage``: each finding on a real fixture repository, with ``--fail-on``.

The baseline configuration (:data:`AUDIT_YML`) covers the 35-crate Cargo fixture (and the
excluded crate built from it) completely; each test adds one defect and checks that exactly
its condition is reported and fails the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lanes.audit_helpers import AUDIT_YML, lanes, lanes_json
from tests.lanes.fixtures import cargo_workspace, commit_all, git, write_files

ALL_CONDITIONS = "uncovered,stale,dead,contracts"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cargo_workspace(tmp_path_factory.mktemp("coverage"), extra={"lanes.yml": AUDIT_YML})


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    return clone


def reconfigure(repo: Path, text: str) -> None:
    write_files(repo, {"lanes.yml": text})
    commit_all(repo, "lanes: change the rules")


def coverage(repo: Path, expect: int = 0, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = lanes_json(repo, "audit", "coverage", *args, expect=expect)
    return data


def exit_codes(repo: Path) -> dict[str, int]:
    """The exit code of ``--fail-on X`` for each condition X."""
    return {
        name: lanes(repo, "audit", "coverage", "--format", "json", "--fail-on", name).returncode
        for name in ALL_CONDITIONS.split(",")
    }


def test_the_baseline_is_clean_and_passes_every_fail_on(repo: Path) -> None:
    data = coverage(repo, 0, "--fail-on", ALL_CONDITIONS)
    assert data["conditions"] == dict.fromkeys(ALL_CONDITIONS.split(","), False)
    assert data["files"] == len(git(repo, "ls-files").splitlines())
    assert data["unmatched"] == [] and data["stale_globs"] == [] and data["dead_lanes"] == []
    assert "README.md" in data["ignored"] and "Cargo.lock" in data["global"]
    matrix = {row["name"]: row for row in data["matrix"]}
    assert len(matrix) == 36  # 35 members and meerkat-experimental
    assert matrix["meerkat-session"]["lanes"] == {
        "sdk": "normal",
        "minimal": "normal",
        "feature": "normal",
        "rest": "root",
    }
    assert matrix["meerkat-mob"]["lanes"]["feature"] == "normal+optional via meerkat/mob"
    assert matrix["meerkat-wasm"]["lanes"] == {"wasm": "root", "rest": "root"}
    assert [c["ok"] for c in data["contracts"]] == [True]


def test_a_stale_glob_is_reported_with_where_it_is_listed(repo: Path) -> None:
    reconfigure(
        repo,
        AUDIT_YML.replace('"crates/experimental/**"]', '"crates/experimental/**", "legacy/**"]'),
    )
    data = coverage(repo)
    assert data["stale_globs"] == [
        {"pattern": "legacy/**", "key": "ignore", "line": 3, "column": 1}
    ]
    assert exit_codes(repo) == {"uncovered": 0, "stale": 1, "dead": 0, "contracts": 0}


def test_a_stale_exclusion_and_a_stale_lane_path_are_reported(repo: Path) -> None:
    text = AUDIT_YML.replace(
        'paths: ["sdks/**"]', 'paths: ["sdks/**", "!sdks/java/**", "clients/**"]'
    )
    reconfigure(repo, text)
    stale = {(g["pattern"], g["key"]) for g in coverage(repo)["stale_globs"]}
    assert stale == {("!sdks/java/**", "lanes.sdk.paths"), ("clients/**", "lanes.sdk.paths")}


def test_a_dead_lane_is_reported(repo: Path) -> None:
    # Its only path is a global file: a change there selects every lane anyway, so nothing
    # ever selects this lane on its own account. The glob itself is not stale.
    dead = '  lockfile:\n    paths: ["Cargo.lock"]\n    run: make lock\ncontracts:'
    reconfigure(repo, AUDIT_YML.replace("contracts:", dead))
    data = coverage(repo)
    assert data["dead_lanes"] == [
        {
            "lane": "lockfile",
            "why": "no roots; its paths match only global files (Cargo.lock), which select every"
            " lane and so belong to none",
        }
    ]
    assert data["stale_globs"] == []
    assert exit_codes(repo) == {"uncovered": 0, "stale": 0, "dead": 1, "contracts": 0}


def test_an_uncovered_file_is_reported(repo: Path) -> None:
    write_files(repo, {"tools/release.sh": "#!/bin/sh\n"})
    commit_all(repo, "tools: release script")
    data = coverage(repo)
    assert data["unmatched"] == ["tools/release.sh"]
    assert data["uncovered_components"] == []
    assert exit_codes(repo) == {"uncovered": 1, "stale": 0, "dead": 0, "contracts": 0}
    text = lanes(repo, "audit", "coverage", "--fail-on", "uncovered")
    assert text.returncode == 1 and "tools/release.sh" in text.stdout


def test_a_component_no_lane_covers_is_reported(repo: Path) -> None:
    reconfigure(repo, AUDIT_YML.replace("xtask, ", "").replace(", xtask", ""))
    data = coverage(repo)
    assert data["uncovered_components"] == ["xtask"]
    assert data["silent"] == ["xtask/Cargo.toml", "xtask/src/lib.rs"]
    assert {row["name"]: row["lanes"] for row in data["matrix"]}["xtask"] == {}
    assert exit_codes(repo)["uncovered"] == 1


def test_a_failing_contract_is_reported(repo: Path) -> None:
    reconfigure(repo, AUDIT_YML.replace("not: [wasm]", "not: [wasm, sdk]"))
    data = coverage(repo)
    assert [(c["ok"], c["forbidden"]) for c in data["contracts"]] == [(False, ["sdk"])]
    assert exit_codes(repo) == {"uncovered": 0, "stale": 0, "dead": 0, "contracts": 1}
    text = lanes(repo, "audit", "coverage")
    assert text.returncode == 0 and "FAIL" in text.stdout


def test_a_missing_lane_root_is_reported(repo: Path) -> None:
    reconfigure(
        repo, AUDIT_YML.replace("roots: [meerkat-wasm]", "roots: [meerkat-wasm, wasm-bindgen]")
    )
    data = coverage(repo)
    assert data["missing"] == [
        {"kind": "lane-root", "name": "wasm-bindgen", "key": "lanes.wasm.roots"}
    ]
    assert exit_codes(repo)["contracts"] == 1


def test_rev_audits_an_older_tree(repo: Path) -> None:
    old = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"tools/release.sh": "#!/bin/sh\n"})
    commit_all(repo, "tools: release script")
    assert coverage(repo, 0, "--rev", old)["unmatched"] == []
    assert coverage(repo, 0, "--rev", "HEAD")["unmatched"] == ["tools/release.sh"]


def test_rev_audits_the_older_tree_under_its_own_configuration_and_graph(repo: Path) -> None:
    """``--rev`` reads REV's ``lanes.yml`` and manifests, as a release audit reads B's: a lane
    removed since and a crate added since must not change the coverage of the older tree."""
    old = git(repo, "rev-parse", "HEAD").strip()
    without_wasm = AUDIT_YML.replace(
        "  wasm:\n    roots: [meerkat-wasm]\n    run: make wasm\n", ""
    ).replace("roots: [meerkat-rpc", "roots: [meerkat-newbie, meerkat-rpc")
    without_wasm = without_wasm.replace("    not: [wasm]\n", "")
    newbie = '[package]\nname = "meerkat-newbie"\nversion = "0.1.0"\nedition = "2021"\n'
    write_files(repo, {"lanes.yml": without_wasm, "crates/newbie/Cargo.toml": newbie})
    write_files(repo, {"crates/newbie/src/lib.rs": "\n"})
    commit_all(repo, "drop the wasm lane, add a crate")
    at_old = {row["name"]: row["lanes"] for row in coverage(repo, 0, "--rev", old)["matrix"]}
    at_head = {row["name"]: row["lanes"] for row in coverage(repo)["matrix"]}
    assert at_old["meerkat-wasm"] == {"wasm": "root", "rest": "root"}
    assert "meerkat-newbie" not in at_old
    assert at_head["meerkat-wasm"] == {"rest": "root"}
    assert at_head["meerkat-newbie"] == {"sdk": "root"}


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_format_reports_every_finding(repo: Path, fmt: str, tmp_path: Path) -> None:
    text = AUDIT_YML.replace("xtask, ", "").replace("not: [wasm]", "not: [wasm, sdk]")
    text = text.replace('"crates/experimental/**"]', '"crates/experimental/**", "legacy/**"]')
    reconfigure(
        repo, text.replace("contracts:", '  lockfile:\n    paths: ["Cargo.lock"]\ncontracts:')
    )
    write_files(repo, {"tools/release.sh": "#!/bin/sh\n"})
    commit_all(repo, "tools: release script")
    out = tmp_path / f"report.{fmt}"
    result = lanes(repo, "audit", "coverage", "--format", fmt, "--output", str(out))
    assert result.returncode == 0 and result.stdout == "", result.stderr
    report = out.read_text("utf-8")
    for finding in ("tools/release.sh", "legacy/", "lockfile", "xtask", "FAIL"):
        assert finding in report.replace("\\", ""), (fmt, finding)


def test_no_config_audits_components_as_their_own_lanes(repo: Path) -> None:
    git(repo, "rm", "-q", "lanes.yml")
    commit_all(repo, "no config")
    data = coverage(repo)
    assert len(data["lanes"]) == 36 and data["dead_lanes"] == [] and data["stale_globs"] == []
    assert data["uncovered_components"] == []
