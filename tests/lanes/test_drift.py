"""`lanes check` keeps lanes.yml, the workflows and the runners from drifting apart."""

from __future__ import annotations

from pathlib import Path

from lanes.drift import nox_session_names
from tests.lanes.fixtures import git, write_files
from tests.lanes.test_cli_cargo import lanes

CONFIG = """\
version: 1
discover: []
components:
  core: {paths: ["core/**"]}
lanes:
  unit: {roots: [core], run: 'nox -s "lane(unit)"'}
  docs: {paths: ["docs/**"], run: "nox -s docs"}
"""
NOXFILE = """\
import nox

@nox.session
@nox.parametrize("lane", ["unit"], ids=["unit"])
def lane(session, lane):
    pass

@nox.session
def docs(session):
    pass
"""
DYNAMIC = """\
name: ci
on: push
jobs:
  lane:
    runs-on: ubuntu-latest
    strategy:
      matrix: ${{ fromJSON(needs.detect.outputs.matrix) }}
    steps:
      - run: nox -s "lane(${{ matrix.lane }})"
"""
NAMED = """\
name: nightly
on: push
jobs:
  lane:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        lane: [unit, gone]
    steps:
      - run: nox -s "lane(unit)"
"""


def make_repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, {"lanes.yml": CONFIG, "noxfile.py": NOXFILE, **files})
    return repo


def test_consistent_repository_passes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {".github/workflows/ci.yml": DYNAMIC})
    result = lanes(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_lane_named_in_a_workflow_must_exist(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {".github/workflows/nightly.yml": NAMED})
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert (
        "lane gone is named in .github/workflows/nightly.yml but not in lanes.yml" in result.stdout
    )
    assert "lane docs is in lanes.yml but no workflow runs it" in result.stdout


def test_missing_nox_session_and_unknown_program_fail(tmp_path: Path) -> None:
    config = CONFIG.replace("nox -s docs", "nox -s documentation").replace(
        "run: 'nox -s \"lane(unit)\"'", "run: no-such-program-xyz --fast"
    )
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": DYNAMIC})
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert "lane docs: nox session documentation is not defined in noxfile.py" in result.stdout
    assert (
        "lane unit: 'no-such-program-xyz --fast' runs a program that is not on PATH"
        in result.stdout
    )


def test_lane_without_run_fails(tmp_path: Path) -> None:
    config = CONFIG.replace(', run: "nox -s docs"', "")
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": DYNAMIC})
    result = lanes(repo, "check")
    assert result.returncode == 1 and "lane docs has no 'run' command" in result.stdout


def test_nox_session_names_are_parsed_from_run_commands() -> None:
    assert nox_session_names('nox -s "lane(sdk)"') == ["lane(sdk)"]
    assert nox_session_names("nox --sessions a b --no-venv") == ["a", "b"]
    assert nox_session_names("make test") is None


def test_this_repository_passes_its_own_check(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    result = lanes(root, "check", env={"LANES_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
