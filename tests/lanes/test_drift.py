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
    repo.mkdir(parents=True)
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


def test_missing_nox_session_fails_and_a_program_missing_here_is_a_warning(
    tmp_path: Path,
) -> None:
    config = CONFIG.replace("nox -s docs", "nox -s documentation").replace(
        "run: 'nox -s \"lane(unit)\"'", "run: no-such-program-xyz --fast"
    )
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": DYNAMIC})
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert "lane docs: nox session documentation is not defined in noxfile.py" in result.stdout
    missing = "lane unit: 'no-such-program-xyz --fast' runs a program that is not on PATH"
    assert missing not in result.stdout
    assert f"warn lanes.yml: {missing} (not verified here; --strict" in result.stderr


def test_a_ci_only_program_passes_pre_merge_and_fails_with_strict(tmp_path: Path) -> None:
    config = CONFIG.replace("run: 'nox -s \"lane(unit)\"'", "run: RUST_LOG=1 cargo-nextest-xyz run")
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": DYNAMIC})
    relaxed = lanes(repo, "check")
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "cargo-nextest-xyz" in relaxed.stderr and "not on PATH" in relaxed.stderr
    strict = lanes(repo, "check", "--strict")
    assert strict.returncode == 1
    assert (
        "FAIL lanes.yml: lane unit: 'RUST_LOG=1 cargo-nextest-xyz run' runs a program that is "
        "not on PATH" in strict.stdout
    )


def test_lane_without_run_fails_when_the_matrix_runs_matrix_run(tmp_path: Path) -> None:
    config = CONFIG.replace(', run: "nox -s docs"', "")
    workflow = (
        DYNAMIC.replace('nox -s "lane(${{ matrix.lane }})"', 'eval "$RUN"')
        .replace("    steps:\n", '    steps:\n      - env: {RUN: "${{ matrix.run }}"}\n        ')
        .replace("      - run: eval", "run: eval")
    )
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": workflow})
    result = lanes(repo, "check")
    assert result.returncode == 1 and "lane docs has no 'run' command" in result.stdout


def test_lane_without_run_passes_when_the_matrix_job_runs_by_lane_name(tmp_path: Path) -> None:
    config = CONFIG.replace(', run: "nox -s docs"', "")
    repo = make_repo(tmp_path, {"lanes.yml": config, ".github/workflows/ci.yml": DYNAMIC})
    result = lanes(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_nox_session_names_are_parsed_from_run_commands() -> None:
    assert nox_session_names('nox -s "lane(sdk)"') == ["lane(sdk)"]
    assert nox_session_names("nox --sessions a b --no-venv") == ["a", "b"]
    assert nox_session_names("make test") is None


def test_this_repository_passes_its_own_check(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    result = lanes(root, "check", env={"LANES_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr


# --- per-lane consumption: the workflows people already have ---------------------------------

NO_RUNS = """\
version: 1
discover: []
components:
  core: {paths: ["core/**"]}
lanes:
  unit: {roots: [core]}
  docs: {paths: ["docs/**"]}
  sdk_js: {paths: ["sdk/**"]}
"""
DETECT_JOB = """\
name: ci
on: pull_request
permissions: {}
jobs:
  detect:
    runs-on: ubuntu-latest
    outputs:
      unit: ${{ steps.lanes.outputs.unit }}
      docs: ${{ steps.lanes.outputs.docs }}
      sdk_js: ${{ steps.lanes.outputs.sdk_js }}
      lanes: ${{ steps.lanes.outputs.lanes }}
      flags: ${{ steps.lanes.outputs.flags }}
      version: ${{ steps.version.outputs.version }}
    steps:
      - id: version
        run: echo "version=1" >> "$GITHUB_OUTPUT"
      - id: lanes
        run: lanes detect --base "$BASE" --format github
"""
BOOLEAN_GATES = (
    DETECT_JOB
    + """\
  unit:
    needs: detect
    if: needs.detect.outputs.unit == 'true'
    runs-on: ubuntu-latest
    steps:
      - run: cargo nextest run
  docs:
    needs: detect
    if: ${{ needs.detect.outputs.docs == 'true' && github.event_name != 'push' }}
    runs-on: ubuntu-latest
    steps:
      - run: mkdocs build
  sdk:
    needs: detect
    if: needs.detect.outputs.sdk_js == 'true'
    runs-on: ubuntu-latest
    steps:
      - run: pnpm test
  release:
    needs: detect
    if: needs.detect.outputs.version != ''
    runs-on: ubuntu-latest
    steps:
      - run: echo release
"""
)


def test_real_world_boolean_gated_jobs_without_run_keys_pass(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": BOOLEAN_GATES})
    result = lanes(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


def test_removing_one_gate_fails_naming_the_lane(tmp_path: Path) -> None:
    ungated = BOOLEAN_GATES.replace("needs.detect.outputs.docs == 'true' && ", "")
    assert ungated != BOOLEAN_GATES
    repo = make_repo(tmp_path, {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": ungated})
    result = lanes(repo, "check")
    assert result.returncode == 1
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1, result.stdout
    assert "lane docs is in lanes.yml but no workflow runs it" in failures[0]


def test_contains_lanes_flags_and_step_outputs_are_gates(tmp_path: Path) -> None:
    workflow = (
        DETECT_JOB
        + """\
  unit:
    needs: detect
    if: contains(fromJSON(needs.detect.outputs.lanes), 'unit')
    runs-on: ubuntu-latest
    steps:
      - run: make unit
  docs:
    needs: detect
    if: ${{ fromJSON(needs.detect.outputs.flags).docs }}
    runs-on: ubuntu-latest
    steps:
      - run: make docs
  inline:
    runs-on: ubuntu-latest
    steps:
      - id: detect
        uses: OWNER/lanes-toolkit@v1
      - if: steps.detect.outputs.sdk_js == 'true'
        run: pnpm test
"""
    )
    repo = make_repo(tmp_path, {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": workflow})
    result = lanes(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    gates = {
        "unit": "contains(fromJSON(needs.detect.outputs.lanes), 'unit')",
        "docs": "${{ fromJSON(needs.detect.outputs.flags).docs }}",
        "sdk_js": "steps.detect.outputs.sdk_js == 'true'",
    }
    for number, (lane, gate) in enumerate(gates.items()):
        broken = workflow.replace(gate, "always()")
        assert broken != workflow
        repo_broken = make_repo(
            tmp_path / str(number), {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": broken}
        )
        failed = lanes(repo_broken, "check")
        assert failed.returncode == 1, (lane, failed.stdout)
        assert f"lane {lane} is in lanes.yml but no workflow runs it" in failed.stdout


def test_a_gate_on_a_lane_that_does_not_exist_fails_with_a_suggestion(tmp_path: Path) -> None:
    typo = BOOLEAN_GATES.replace(
        "if: needs.detect.outputs.unit == 'true'", "if: fromJSON(needs.detect.outputs.flags).unti"
    )
    repo = make_repo(tmp_path, {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": typo})
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert (
        "lane unti is named in .github/workflows/ci.yml but not in lanes.yml "
        "(did you mean unit?)" in result.stdout
    )
    assert "lane unit is in lanes.yml but no workflow runs it" in result.stdout


def test_outputs_of_an_unrecognised_job_count_only_for_existing_lanes(tmp_path: Path) -> None:
    wrapper = (
        DETECT_JOB.replace('lanes detect --base "$BASE" --format github', "./ci/changes.sh")
        + """\
  unit:
    needs: detect
    if: needs.detect.outputs.unit == 'true' && needs.detect.outputs.version != ''
    runs-on: ubuntu-latest
    steps:
      - run: make unit
"""
    )
    repo = make_repo(tmp_path, {"lanes.yml": NO_RUNS, ".github/workflows/ci.yml": wrapper})
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert "version" not in result.stdout  # not a lane, and not known to be a detect output
    assert "lane unit" not in result.stdout
    assert "lane docs is in lanes.yml but no workflow runs it" in result.stdout


def test_the_local_lanes_action_is_recognised_as_detect(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    workflow = """\
name: ci
on: pull_request
jobs:
  detect:
    runs-on: ubuntu-latest
    outputs:
      flags: ${{ steps.lanes.outputs.flags }}
    steps:
      - id: lanes
        uses: ./
  all:
    needs: detect
    if: fromJSON(needs.detect.outputs.flags).unit || fromJSON(needs.detect.outputs.flags).docs
    runs-on: ubuntu-latest
    steps:
      - if: fromJSON(needs.detect.outputs.flags)['sdk_js']
        run: make
      - if: fromJSON(needs.detect.outputs.flags).nope
        run: make
"""
    repo = make_repo(
        tmp_path,
        {
            "lanes.yml": NO_RUNS,
            ".github/workflows/ci.yml": workflow,
            "action.yml": (root / "action.yml").read_text(),
        },
    )
    result = lanes(repo, "check")
    assert result.returncode == 1
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == [
        "FAIL lanes.yml: lane nope is named in .github/workflows/ci.yml but not in lanes.yml"
    ]
