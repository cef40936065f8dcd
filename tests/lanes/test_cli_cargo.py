"""End to end on the 35-crate Cargo fixture: real git history, the real ``lanes`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.fixtures import (
    MEERKAT_SESSION_DEPENDENTS,
    cargo_workspace,
    commit_all,
    git,
    write_files,
)

LANES_YML = """\
version: 1
global: ["Cargo.lock", "Cargo.toml", "rust-toolchain.toml", ".github/workflows/**", "lanes.yml"]
ignore: ["docs/**", "**/*.md"]
lanes:
  sdk:
    description: SDK server and SDK suites
    roots: [meerkat-rpc, meerkat-http]
    include_dev: true
    paths: ["sdks/**"]
    run: make sdk
  minimal:
    roots: [rkat]
    run: make minimal
  feature:
    roots: [meerkat]
    include_optional: true
    run: make feature
  wasm:
    roots: [meerkat-wasm]
    run: make wasm
  audit:
    paths: ["deny.toml"]
    run: make audit
contracts:
  - path: meerkat-session/src/persistent.rs
    selects: [sdk, minimal, feature]
    not: [wasm, audit]
  - path: docs/index.md
    not: [sdk, minimal, feature, wasm, audit]
"""


CI_YML = """\
name: ci
on: [push]
jobs:
  lane:
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.detect.outputs.matrix) }}
    steps:
      - run: make "$LANE"
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {"lanes.yml": LANES_YML, ".github/workflows/ci.yml": CI_YML}
    return cargo_workspace(tmp_path_factory.mktemp("cargo"), extra=files)


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    return clone


def lanes(
    repo: Path, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lanes.cli", *args],
        cwd=repo,
        input=stdin.decode("utf-8", "surrogateescape"),
        capture_output=True,
        text=True,
        env={**os.environ, "LANES_CACHE_DIR": str(repo / ".cache"), **(env or {})},
        check=False,
    )


def detect_json(repo: Path, *args: str, stdin: bytes = b"") -> dict[str, Any]:
    result = lanes(repo, "detect", "--format", "json", *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def change(repo: Path, files: dict[str, str], message: str = "change") -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, files)
    return base, commit_all(repo, message)


def test_session_fix_selects_every_lane_whose_roots_depend_on_it(repo: Path) -> None:
    base, _ = change(repo, {"meerkat-session/src/persistent.rs": "// fix\n"})
    data = detect_json(repo, "--base", base)
    assert data["selected"] == ["sdk", "minimal", "feature"]
    assert data["mode"] == "precise"
    assert "meerkat-session" not in LANES_YML.split("contracts:")[0]
    chain = [step["component"] for step in data["reasons"]["sdk"][0]["chain"]]
    assert chain[0] in {"meerkat-rpc", "meerkat-http"} and chain[-1] == "meerkat-session"
    assert data["diff"]["method"] == "merge-base" and data["diff"]["merge_base"] == base


def test_every_transitive_dependent_is_covered(repo: Path) -> None:
    graph = json.loads(lanes(repo, "graph", "--format", "json").stdout)
    covered = (
        set(graph["lanes"]["sdk"]) | set(graph["lanes"]["minimal"]) | set(graph["lanes"]["feature"])
    )
    assert "meerkat-session" in covered
    assert {"meerkat-rpc", "meerkat-http", "rkat", "meerkat"} <= covered
    assert "meerkat-session" not in graph["lanes"]["wasm"]
    assert any(
        c["name"] == "rkat" and c["manifest"] == "meerkat-cli/Cargo.toml"
        for c in graph["components"]
    )
    assert MEERKAT_SESSION_DEPENDENTS["transitive"] >= {"meerkat-rpc", "rkat", "meerkat"}


def test_optional_dependent_only_reaches_lanes_whose_features_enable_it(repo: Path) -> None:
    data = detect_json(repo, "--paths-from-stdin", stdin=b"meerkat-mob/src/lib.rs\n")
    assert data["selected"] == ["feature"]
    assert data["reasons"]["feature"][0]["chain"][-1] == {
        "component": "meerkat-mob",
        # Discovery reads [features]: the feature that enables the edge is ``mob``.
        "edge": "normal+optional via meerkat/mob",
    }


def test_markdown_compiled_into_a_crate_counts_for_it(repo: Path) -> None:
    skill = detect_json(repo, "--paths-from-stdin", stdin=b"meerkat-skills/SKILL.md\n")
    docs = detect_json(repo, "--paths-from-stdin", stdin=b"docs/index.md\nREADME.md\n")
    assert skill["reasons"] and skill["selected"]
    assert docs["selected"] == [] and docs["mode"] == "precise" and docs["ignored"]


def test_global_file_selects_everything(repo: Path) -> None:
    assert detect_json(repo, "--paths-from-stdin", stdin=b"Cargo.lock\n")["selected"] == [
        "sdk",
        "minimal",
        "feature",
        "wasm",
        "audit",
    ]


def test_deleted_crate_still_selects_its_dependents(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", "-r", "meerkat-store")
    commit_all(repo, "delete a crate")
    data = detect_json(repo, "--base", base)
    # The deleted crate is gone from the new graph: its files are unowned, so fail safe.
    assert data["selected"] == ["sdk", "minimal", "feature", "wasm", "audit"]
    assert data["mode"] == "fail-safe"


def test_rename_across_crates_selects_both_owners(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "meerkat-wasm/src/lib.rs", "meerkat-audit/src/moved.rs")
    commit_all(repo, "move a file between crates")
    data = detect_json(repo, "--base", base)
    assert "wasm" in data["selected"]
    paths = {r["path"] for reasons in data["reasons"].values() for r in reasons}
    assert {"meerkat-wasm/src/lib.rs"} <= paths


def test_null_base_selects_everything_with_a_reason(repo: Path) -> None:
    data = detect_json(repo, "--base", "0" * 40)
    assert data["mode"] == "fail-safe" and data["failsafe"] == ["no-base"]
    assert data["selected"] == ["sdk", "minimal", "feature", "wasm", "audit"]


def test_base_not_in_clone_selects_everything(repo: Path) -> None:
    data = detect_json(repo, "--base", "1234567" * 5 + "12345")
    assert data["mode"] == "fail-safe" and data["failsafe"] == ["base-not-found"]


def test_empty_diff_selects_nothing_precisely(repo: Path) -> None:
    data = detect_json(repo, "--base", "HEAD")
    assert data["selected"] == [] and data["mode"] == "precise"


def test_bad_manifest_goes_fail_safe_naming_the_file(repo: Path) -> None:
    base, _ = change(repo, {"meerkat-auth/Cargo.toml": "[package\nname = 'x'\n"})
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "fail-safe"
    assert any(
        code.startswith("manifest-error: meerkat-auth/Cargo.toml:") for code in data["failsafe"]
    )


def test_forged_output_name_cannot_inject(repo: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    summary = tmp_path / "summary"
    env = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    result = lanes(
        repo,
        "detect",
        "--format",
        "github",
        "--paths-from-stdin",
        stdin=b"meerkat-wasm/x\nsdk=true\0meerkat-wasm/lib.rs",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    parsed = parse_github_output(output.read_text())
    assert parsed["sdk"] == "false" and parsed["wasm"] == "true"
    assert json.loads(parsed["lanes"]) == ["wasm"]
    assert json.loads(parsed["matrix"]) == {"include": [{"lane": "wasm", "run": "make wasm"}]}
    assert parsed["mode"] == "precise"
    assert "wasm" in summary.read_text()


def parse_github_output(text: str) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT the way the runner does (name=value and name<<DELIM blocks)."""
    values: dict[str, str] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_check_runs_contracts_and_names_failures(repo: Path) -> None:
    ok = lanes(repo, "check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = LANES_YML.replace("not: [wasm, audit]", "not: [wasm, audit, sdk]")
    (repo / "lanes.yml").write_text(broken)
    failed = lanes(repo, "check")
    assert failed.returncode == 1
    assert (
        "FAIL lanes.yml:25: meerkat-session/src/persistent.rs selects forbidden sdk"
        in failed.stdout
    )


def test_config_error_exits_2_with_location_and_no_traceback(repo: Path) -> None:
    (repo / "lanes.yml").write_text("version: 1\nlanes:\n  sdk:\n    roots: meerkat-rpc\n")
    result = lanes(repo, "detect", "--paths-from-stdin", stdin=b"x\n")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "lanes: error: lanes.yml:4:12: lanes.sdk.roots: expected a list of strings, got a string"
    )
    assert "Traceback" not in result.stderr


def test_explain_gives_chain_and_why_not(repo: Path) -> None:
    result = lanes(repo, "explain", "--format", "json", "meerkat-session/src/lib.rs")
    report = json.loads(result.stdout)[0]
    assert report["owner"]["component"] == "meerkat-session"
    assert set(report["selects"]) == {"sdk", "minimal", "feature"}
    assert "not among" in report["not_selected"]["wasm"]


def test_warm_cache_is_used(repo: Path) -> None:
    detect_json(repo, "--paths-from-stdin", stdin=b"x.rs\n")
    entries = list((repo / ".cache").glob("index-*.json"))
    assert len(entries) == 1
    before = entries[0].stat().st_mtime_ns
    detect_json(repo, "--paths-from-stdin", stdin=b"x.rs\n")
    assert entries[0].stat().st_mtime_ns == before
    write_files(
        repo, {"meerkat-auth/Cargo.toml": (repo / "meerkat-auth/Cargo.toml").read_text() + "\n"}
    )
    detect_json(repo, "--paths-from-stdin", stdin=b"x.rs\n")
    assert [p.name for p in (repo / ".cache").glob("index-*.json")] != [entries[0].name]


def test_without_config_components_act_as_lanes(repo: Path) -> None:
    (repo / "lanes.yml").unlink()
    data = detect_json(repo, "--paths-from-stdin", stdin=b"meerkat-session/src/lib.rs\n")
    # Each crate's lane runs its tests, so dev-dependents see the change too (one hop).
    dependents = MEERKAT_SESSION_DEPENDENTS
    assert (
        set(data["selected"]) == {"meerkat-session"} | dependents["transitive"] | dependents["dev"]
    )


def test_usage_error_exits_2_without_traceback(repo: Path) -> None:
    result = lanes(repo, "detect", "--paths-file", "missing.txt")
    assert result.returncode == 2
    assert result.stderr.startswith("lanes: error: --paths-file missing.txt:")
    assert "Traceback" not in result.stderr
