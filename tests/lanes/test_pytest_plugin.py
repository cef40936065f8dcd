"""The pytest plugin: --lane selects by marker and by the lane's coverage of the test's file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.lanes.fixtures import commit_all, git, write_files

CONFIG = """\
version: 1
discover: []
components:
  core: {paths: ["core/**"]}
  core-tests: {paths: ["tests/core/**"], depends_on: [core]}
  web-tests: {paths: ["tests/web/**"]}
lanes:
  unit: {roots: [core-tests], run: "pytest"}
  web: {roots: [web-tests], run: "pytest"}
"""
FILES = {
    "lanes.yml": CONFIG,
    "core/__init__.py": "",
    "tests/core/test_core.py": "def test_core():\n    pass\n",
    "tests/web/test_web.py": (
        "import pytest\n\ndef test_page():\n    pass\n\n"
        "@pytest.mark.unit\ndef test_shared_with_unit():\n    pass\n"
    ),
    "pyproject.toml": (
        '[tool.pytest.ini_options]\naddopts = "--strict-markers -p no:cacheprovider"\n'
    ),
}


def collected(repo: Path, *args: str) -> tuple[int, list[str], str]:
    env = {**os.environ, "LANES_CACHE_DIR": str(repo.parent / "lanes-cache")}
    env.pop("PYTEST_ADDOPTS", None)  # the parent's options must not change the output parsed here
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    ids = [line for line in result.stdout.splitlines() if "::" in line]
    return result.returncode, ids, result.stdout + result.stderr


def make_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, FILES)
    commit_all(repo, "init")
    git(repo, "clone", "-q", str(repo), str(tmp_path / "clone"))
    return tmp_path / "clone"


def test_lane_selects_by_coverage_and_marker(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, ids, output = collected(repo, "--lane", "unit")
    assert code == 0, output
    assert ids == [
        "tests/core/test_core.py::test_core",
        "tests/web/test_web.py::test_shared_with_unit",
    ]
    code, ids, output = collected(repo, "--lane", "web")
    assert ids == [
        "tests/web/test_web.py::test_page",
        "tests/web/test_web.py::test_shared_with_unit",
    ]


def test_lane_markers_are_registered(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, ids, output = collected(repo)
    assert code == 0 and len(ids) == 3, output


def test_unknown_lane_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    code, _, output = collected(repo, "--lane", "nope")
    assert code == 4 and "--lane nope: unknown lane (known: unit, web, affected)" in output


def test_a_mistyped_lane_is_reported_with_a_suggestion_before_collection(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "tests" / "web" / "test_probe.py").write_text(
        "import pathlib\npathlib.Path('collected.marker').write_text('x')\n"
    )
    code, _, output = collected(repo, "--lane", "unti")
    assert code == 4
    assert "--lane unti: unknown lane (did you mean unit?) (known: unit, web, affected)" in output
    assert not (repo / "collected.marker").exists()  # no test module was imported
    collected(repo)
    assert (repo / "collected.marker").exists()  # the probe works


def test_affected_with_nothing_changed_says_so_and_exits_0(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    env = {**os.environ, "LANES_CACHE_DIR": str(repo.parent / "lanes-cache")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--lane", "affected"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "lanes: --lane affected -> no lane (0 changed paths, against the merge base)" in (
        result.stdout
    )
    assert "the current change selects no lane, so no test runs" in result.stdout
    assert "3 deselected" in result.stdout


def test_affected_follows_the_current_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "core" / "__init__.py").write_text("VALUE = 1\n")
    code, ids, output = collected(repo, "--lane", "affected")
    assert code == 0, output
    assert ids == [
        "tests/core/test_core.py::test_core",
        "tests/web/test_web.py::test_shared_with_unit",
    ], output
    assert "lanes: --lane affected -> unit (1 changed path, against the merge base)" in output


def test_a_selected_lane_without_tests_still_exits_5(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    config = CONFIG + "  empty: {paths: [nothing/**], run: pytest}\n"
    (repo / "lanes.yml").write_text(config)
    code, ids, output = collected(repo, "--lane", "empty")
    assert code == 5 and ids == [], output
