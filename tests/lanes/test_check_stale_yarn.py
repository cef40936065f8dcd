"""``lanes check`` on a yarn berry lock whose workspace entries no longer record the manifests'
ranges as ``yarn install --immutable`` expects (yarn fails with YN0028, "the lockfile would have
been modified"): the range of each dependency between workspace packages (``npm:`` added to a
range without a protocol, devDependencies and optionalDependencies merged into
``dependencies``, the later field winning), the peer range, and the ``optional`` mark.

Each case is a change to the manifests of one committed workspace whose ``yarn.lock`` real yarn
4.18.1 wrote (``data/jslocks/yarn-4-ranges.yarn.lock``), with yarn's own verdict on it. The
differential test re-derives both from the real tool where yarn berry is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import make_repo

DATA = Path(__file__).resolve().parent / "data" / "jslocks"
A = {
    "name": "a",
    "version": "1.0.0",
    "dependencies": {"b": "workspace:^"},
    "devDependencies": {"c": "^1.0.0"},
    "peerDependencies": {"b": "*"},
}
B = {"name": "b", "version": "1.0.0", "optionalDependencies": {"c": "workspace:*"}}
C = {"name": "c", "version": "1.2.0"}


def a_with(**fields: dict[str, str] | None) -> dict[str, Any]:
    body = {**A, **fields}
    return {key: value for key, value in body.items() if value is not None}


# (case, package directory -> its new manifest, whether yarn --immutable finds the lock stale)
CASES: list[tuple[str, dict[str, dict[str, Any]], bool]] = [
    ("unchanged", {}, False),
    ("a dev range to a member", {"a": a_with(devDependencies={"c": "^1.1.0"})}, True),
    ("a workspace range", {"a": a_with(dependencies={"b": "workspace:*"})}, True),
    ("a peer range", {"a": a_with(peerDependencies={"b": "^1"})}, True),
    ("a peer dropped", {"a": a_with(peerDependencies=None)}, True),
    ("an alias", {"a": a_with(devDependencies={"c": "npm:c@^1.0.0"})}, True),
    ("a link instead of a range", {"a": a_with(devDependencies={"c": "link:../c"})}, True),
    (
        "devDependencies moved to dependencies",
        {"a": a_with(dependencies={"b": "workspace:^", "c": "^1.0.0"}, devDependencies=None)},
        False,
    ),
    (
        "devDependencies moved to optionalDependencies",
        {"a": a_with(optionalDependencies={"c": "^1.0.0"}, devDependencies=None)},
        True,
    ),
    (
        "optionalDependencies moved to dependencies",
        {"b": {**B, "optionalDependencies": None, "dependencies": {"c": "workspace:*"}}},
        True,
    ),
    (
        "in two fields, the devDependencies range wins (unchanged)",
        {"a": a_with(dependencies={"b": "workspace:^", "c": "^1.1.0"})},
        False,
    ),
    (
        "in two fields, the devDependencies range wins (changed)",
        {
            "a": a_with(
                dependencies={"b": "workspace:^", "c": "^1.0.0"}, devDependencies={"c": "^1.1.0"}
            )
        },
        True,
    ),
]
STALE = re.compile(r"is stated by packages/\w/package\.json as .* but yarn\.lock records ")


def manifest(body: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in body.items() if v is not None}, indent=2) + "\n"


def workspace_files(changes: dict[str, dict[str, Any]]) -> dict[str, str]:
    packages = {"a": A, "b": B, "c": C, **changes}
    root = {"name": "root", "private": True, "workspaces": ["packages/*"]}
    files = {f"packages/{d}/package.json": manifest(body) for d, body in packages.items()}
    return {"package.json": manifest(root), **files}


def lanes_finds_stale(repo: Path) -> bool:
    result = lanes(repo, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    return STALE.search(out) is not None or "not recorded by yarn.lock" in out


@pytest.mark.parametrize(("case", "changes", "stale"), CASES, ids=[c[0] for c in CASES])
def test_yarn_berry_ranges_compared_as_yarn_immutable_does(
    case: str, changes: dict[str, dict[str, Any]], stale: bool, tmp_path: Path
) -> None:
    lock = (DATA / "yarn-4-ranges.yarn.lock").read_text()
    repo = make_repo(tmp_path / "repo", {**workspace_files(changes), "yarn.lock": lock})
    assert lanes_finds_stale(repo) is stale, case
    if stale:
        assert lanes(repo, "check", "--strict").returncode == 1


def test_the_warning_names_both_sides(tmp_path: Path) -> None:
    lock = (DATA / "yarn-4-ranges.yarn.lock").read_text()
    changes = {"a": a_with(devDependencies={"c": "^1.1.0"})}
    repo = make_repo(tmp_path / "repo", {**workspace_files(changes), "yarn.lock": lock})
    result = lanes(repo, "check")
    assert (
        'a -> c (dev) is stated by packages/a/package.json as devDependencies "c": "^1.1.0" but '
        'yarn.lock records dependencies c "npm:^1.0.0": lanes follows the manifest; the lock is '
        "stale: run yarn install"
    ) in result.stdout + result.stderr


def yarn_berry() -> str | None:
    """A yarn 2+ on ``PATH`` (``$LANES_TEST_YARN`` overrides), or None."""
    yarn = os.environ.get("LANES_TEST_YARN") or shutil.which("yarn")
    if yarn is None:
        return None
    version = subprocess.run([yarn, "--version"], capture_output=True, text=True, check=False)
    return yarn if version.stdout[:1].isdigit() and int(version.stdout.split(".")[0]) >= 2 else None


YARN = yarn_berry()


@pytest.mark.skipif(YARN is None, reason="yarn berry (2+) is not installed")
@pytest.mark.parametrize(("case", "changes", "stale"), CASES, ids=[c[0] for c in CASES])
def test_differential_against_real_yarn(
    case: str, changes: dict[str, dict[str, Any]], stale: bool, tmp_path: Path
) -> None:
    """Real yarn writes the lock for the unchanged workspace and judges the changed one; lanes
    agrees with it (and with the table above)."""
    assert YARN is not None
    env = {**os.environ, "YARN_ENABLE_TELEMETRY": "0", "YARN_ENABLE_GLOBAL_CACHE": "0"}
    # yarn makes every install immutable when $CI is set; the first one writes the lock
    env["YARN_ENABLE_IMMUTABLE_INSTALLS"] = "false"
    repo = tmp_path / "repo"
    for path, text in workspace_files({}).items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    install = [YARN, "install", "--mode=skip-build"]
    subprocess.run(install, cwd=repo, env=env, check=True, capture_output=True)
    lock = (repo / "yarn.lock").read_text()
    repo = make_repo(tmp_path / "changed", {**workspace_files(changes), "yarn.lock": lock})
    immutable = subprocess.run(
        [*install, "--immutable"], cwd=repo, env=env, capture_output=True, text=True
    )
    yarn_stale = immutable.returncode != 0
    assert yarn_stale is ("YN0028" in immutable.stdout), immutable.stdout
    subprocess.run(["git", "clean", "-fdxq"], cwd=repo, check=True)
    assert yarn_stale is stale, (case, immutable.stdout)
    assert lanes_finds_stale(repo) is yarn_stale, case
