"""The repository's workflows and composite action pass actionlint and zizmor, and the linters
really catch the mistakes they are here for."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def tool(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install '.[test]'")
    return found


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_there_are_workflows_and_an_action() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "nightly.yml", "action-selftest.yml"} <= names
    assert (ROOT / "action.yml").is_file()


def test_actionlint_is_clean_and_checks_the_action_through_its_self_test() -> None:
    result = run(tool("actionlint"), *map(str, WORKFLOWS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_is_clean_on_workflows_and_action() -> None:
    result = run(tool("zizmor"), "--offline", *map(str, WORKFLOWS), str(ROOT / "action.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_linters_catch_injection_and_unknown_action_inputs(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.write_text(
        "name: bad\non: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: ./\n        with:\n          configx: x\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    lint = run(tool("actionlint"), str(bad), cwd=tmp_path)
    assert lint.returncode != 0 and 'input "configx" is not defined' in lint.stdout
    audit = run(tool("zizmor"), "--offline", str(bad), cwd=tmp_path)
    assert audit.returncode != 0 and "template-injection" in audit.stdout


def test_actions_are_pinned_by_commit_sha() -> None:
    for path in [*WORKFLOWS, ROOT / "action.yml"]:
        for line in path.read_text().splitlines():
            if "uses:" in line and "uses: ./" not in line:
                reference = line.split("uses:", 1)[1].split("#", 1)[0].strip()
                assert len(reference.rsplit("@", 1)[1]) == 40, f"{path.name}: {line.strip()}"


def test_action_self_test_exercises_the_matrix_and_the_per_lane_patterns(tmp_path: Path) -> None:
    from lanes.drift import workflow_lanes

    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "workflows" / "action-selftest.yml", workflows)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    found = workflow_lanes(tmp_path, ["detector", "sdk"])
    assert found.dynamic == [".github/workflows/action-selftest.yml"]  # fromJSON(...matrix)
    assert found.named == {"detector": [".github/workflows/action-selftest.yml"]}  # flags gate
    action = (ROOT / "action.yml").read_text()
    for output in ("lanes", "matrix", "mode", "flags", "reasons", "count"):
        assert f"value: ${{{{ steps.detect.outputs.{output} }}}}" in action
