"""This repository's own lanes.yml: the headline behaviour comes from the graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def detect(paths: str, cache: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "lanes", "detect", "--paths-from-stdin", "--format", "json"],
        cwd=ROOT,
        input=paths,
        capture_output=True,
        text=True,
        env={**os.environ, "LANES_CACHE_DIR": str(cache)},
        check=True,
    )
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_session_core_change_selects_the_four_harness_lanes(tmp_path: Path) -> None:
    data = detect("session_core/service.py\n", tmp_path)
    assert set(data["selected"]) >= {"sdk", "minimal", "feature", "security"}  # type: ignore[arg-type]
    assert data["mode"] == "precise"


def test_docs_only_change_selects_nothing(tmp_path: Path) -> None:
    data = detect("docs/index.md\nREADME.md\n", tmp_path)
    assert data["selected"] == [] and data["mode"] == "precise"


def test_no_lane_lists_session_core_paths_by_hand() -> None:
    config = yaml.safe_load((ROOT / "lanes.yml").read_text())
    for name, lane in config["lanes"].items():
        assert not any("session_core" in path for path in lane.get("paths", [])), name
        assert "session_core" not in lane.get("roots", []), name


def test_every_tracked_file_is_covered_or_ignored(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    data = detect(tracked, tmp_path)
    assert data["unmatched"] == [] and data["mode"] == "precise"


def test_coverage_audit_of_this_repository_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lanes",
            "audit",
            "coverage",
            "--format",
            "json",
            "--fail-on",
            "uncovered,stale,dead,contracts",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "LANES_CACHE_DIR": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
