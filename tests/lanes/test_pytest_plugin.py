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


PRECISE_CONFIG = """\
version: 1
discover: []
global: ["tests/core/test_global.py"]
components:
  core: {paths: ["core/**"]}
  core-tests: {paths: ["tests/core/**"], depends_on: [core]}
lanes:
  unit: {roots: [core-tests], run: "pytest"}
  docs: {paths: ["tests/docs/**"], run: "pytest"}
  smoke: {paths: ["tests/core/test_global.py"], run: "pytest"}
"""


def precise_repo(tmp_path: Path) -> Path:
    """Test files that belong to a lane in each way ``lanes detect`` selects one: owned by a
    component the lane covers, matched by the lane's ``paths``, read through a link inside a
    covered component; and a global one, which belongs to no lane although core-tests owns it."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    test = "def test_it():\n    pass\n"
    write_files(
        repo,
        {
            **FILES,
            "lanes.yml": PRECISE_CONFIG,
            "tests/web/test_web.py": test,  # unowned: the unmatched policy only
            "tests/docs/test_links.py": test,
            "tests/shared/test_shared.py": test,
            "tests/core/test_global.py": test,
        },
    )
    os.symlink("../shared/test_shared.py", repo / "tests/core/shared.py")  # not collected itself
    commit_all(repo, "init")
    return repo


def test_a_test_file_belongs_to_the_lanes_detect_selects_for_it(tmp_path: Path) -> None:
    repo = precise_repo(tmp_path)
    code, ids, output = collected(repo, "--lane", "unit")
    assert code == 0, output
    assert ids == ["tests/core/test_core.py::test_core", "tests/shared/test_shared.py::test_it"]
    code, ids, output = collected(repo, "--lane", "docs")
    assert code == 0, output
    assert ids == ["tests/docs/test_links.py::test_it"]
    # global selects every lane for any path, so its file belongs to none: not even the lane
    # whose paths name it (global decides first), nor its owner's
    code, ids, output = collected(repo, "--lane", "smoke")
    assert code == 5 and ids == [], output


def test_the_coverage_audit_attributes_files_as_the_plugin_does(tmp_path: Path) -> None:
    from tests.lanes.audit_helpers import lanes_json

    repo = precise_repo(tmp_path)
    data = lanes_json(repo, "audit", "coverage")
    # unit: core/__init__.py, tests/core/test_core.py, the link and the test behind it
    assert data["lane_files"] == {"unit": 4, "docs": 1, "smoke": 0}
    assert data["global"] == ["tests/core/test_global.py"]
    assert data["dead_lanes"] == [
        {
            "lane": "smoke",
            "why": "no roots; its paths match only global files (tests/core/test_global.py),"
            " which select every lane and so belong to none",
        }
    ]
