"""End to end on JS workspaces (real git repositories, the real ``lanes`` process): what a
change to a package reaches, who owns root-level files, and the cache key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json


def pkg(name: str | None = None, **fields: object) -> str:
    document = {"name": name, **fields} if name is not None else dict(fields)
    return json.dumps(document, indent=2) + "\n"


#: A pnpm workspace where ``core`` is reached over every kind of JS dependency field.
CORE_WORKSPACE: dict[str, str] = {
    "package.json": pkg("monorepo", private=True, devDependencies={"tools": "workspace:*"}),
    "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - 'apps/*'\n",
    "packages/core/package.json": pkg("core", version="1.0.0"),
    "packages/core/src/index.ts": "export const core = 1;\n",
    "packages/dev-user/package.json": pkg("dev-user", devDependencies={"core": "workspace:*"}),
    "packages/optional-user/package.json": pkg(
        "optional-user", optionalDependencies={"core": "workspace:^"}
    ),
    "packages/peer-user/package.json": pkg("peer-user", peerDependencies={"core": "^1.0.0"}),
    # Reaches core only through another package's devDependencies (built before it is used).
    "apps/app/package.json": pkg("app", dependencies={"dev-user": "workspace:*"}),
    "apps/e2e/package.json": pkg("e2e", devDependencies={"app": "workspace:*"}),
    "apps/unrelated/package.json": pkg("unrelated", dependencies={"left-pad": "^1"}),
    "packages/tools/package.json": pkg("tools"),
}
CORE_DEPENDENTS = {"core", "dev-user", "optional-user", "peer-user", "app", "e2e"}


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    write_files(path, files)
    commit_all(path, "initial")
    return path


def change(repo: Path, files: dict[str, str]) -> None:
    write_files(repo, files)
    commit_all(repo, "change")


@pytest.fixture
def core_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "ws", CORE_WORKSPACE)


def test_core_change_selects_dev_optional_and_peer_dependents(core_repo: Path) -> None:
    change(core_repo, {"packages/core/src/index.ts": "export const core = 2;\n"})
    data = detect_json(core_repo, "--base", "HEAD^")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == CORE_DEPENDENTS
    chain = [step["edge"] for step in data["reasons"]["e2e"][0]["chain"]]
    assert chain == ["root", "dev", "normal", "dev"]


LANES_BY_DEV_SCOPE = """\
version: 1
lanes:
  app-all:
    roots: [app]
  app-roots:
    roots: [app]
    include_dev: roots
  dev-user-roots:
    roots: [dev-user]
    include_dev: roots
  dev-user-none:
    roots: [dev-user]
    include_dev: false
"""


def test_include_dev_roots_and_false_narrow_the_js_default(core_repo: Path) -> None:
    change(
        core_repo,
        {"lanes.yml": LANES_BY_DEV_SCOPE, "packages/core/src/index.ts": "export const c = 3;\n"},
    )
    data = detect_json(core_repo, "--paths-from-stdin", stdin=b"packages/core/src/index.ts\n")
    assert data["mode"] == "precise"
    assert data["selected"] == ["app-all", "dev-user-roots"]


# --- ownership: the workspace root is configuration, not the owner of the repository ---------

ROOT_LANES = """\
version: 1
lanes:
  core:
    roots: [core]
  app:
    roots: [app]
  tool:
    roots: [monorepo]
"""


@pytest.fixture
def public_root_repo(tmp_path: Path) -> Path:
    files = {
        **CORE_WORKSPACE,
        "package.json": pkg("monorepo", workspaces=["packages/*", "apps/*"], files=["lib"]),
        "lib/cli.js": "// the root package's own code\n",
        "scripts/release.sh": "#!/bin/sh\n",
        ".github/workflows/ci.yml": "on: push\n",
        "lanes.yml": ROOT_LANES,
    }
    del files["pnpm-workspace.yaml"]
    return make_repo(tmp_path / "public-root", files)


INPUT_EDITS = {
    "package.json": pkg(
        "monorepo", description="x", workspaces=["packages/*", "apps/*"], files=["lib"]
    ),
    "pnpm-lock.yaml": "lockfileVersion: '9.0'\n",
    "package-lock.json": '{"lockfileVersion": 3, "packages": {}}\n',
}


@pytest.mark.parametrize("path", sorted(INPUT_EDITS))
def test_root_manifest_and_lockfiles_are_workspace_inputs(
    public_root_repo: Path, path: str
) -> None:
    change(public_root_repo, {path: INPUT_EDITS[path]})
    data = detect_json(public_root_repo, "--base", "HEAD^")
    assert (data["mode"], data["selected"]) == ("precise", ["core", "app", "tool"])
    assert data["reasons"]["core"][0]["rule"] == "workspace input"


def test_ci_workflow_change_is_not_silently_precise(public_root_repo: Path) -> None:
    change(public_root_repo, {".github/workflows/ci.yml": "on: [push, pull_request]\n"})
    data = detect_json(public_root_repo, "--base", "HEAD^")
    assert data["mode"] == "fail-safe"
    assert data["unmatched"] == [".github/workflows/ci.yml"]
    assert data["selected"] == ["core", "app", "tool"]


def test_root_level_infrastructure_without_config(tmp_path: Path) -> None:
    files = {**CORE_WORKSPACE, ".github/workflows/ci.yml": "on: push\n", "Makefile": "all:\n"}
    repo = make_repo(tmp_path / "ws", files)
    workflow = detect_json(repo, "--paths-from-stdin", stdin=b".github/workflows/ci.yml\n")
    assert workflow["reasons"]["core"][0]["code"] == "global"
    assert set(workflow["selected"]) >= CORE_DEPENDENTS
    makefile = detect_json(repo, "--paths-from-stdin", stdin=b"Makefile\n")
    assert makefile["mode"] == "fail-safe" and makefile["unmatched"] == ["Makefile"]


def test_public_root_owns_only_the_files_its_manifest_names(public_root_repo: Path) -> None:
    own = detect_json(public_root_repo, "--paths-from-stdin", stdin=b"lib/cli.js\n")
    assert (own["mode"], own["selected"]) == ("precise", ["tool"])
    assert own["reasons"]["tool"][0]["rule"] == "paths lib/**"
    other = detect_json(public_root_repo, "--paths-from-stdin", stdin=b"scripts/release.sh\n")
    assert other["mode"] == "fail-safe" and other["unmatched"] == ["scripts/release.sh"]
    member = detect_json(public_root_repo, "--paths-from-stdin", stdin=b"apps/app/src/a.ts\n")
    assert (member["mode"], member["selected"]) == ("precise", ["app"])


def test_root_owning_everything_still_leaves_workflows_and_members(tmp_path: Path) -> None:
    """``files: ["**"]``, and a lanes.yml entry for the root that replaces its exclude."""
    lanes_yml = ROOT_LANES + "components:\n  monorepo:\n    exclude: ['notes/**']\n"
    files = {
        **CORE_WORKSPACE,
        "package.json": pkg("monorepo", workspaces=["packages/*", "apps/*"], files=["**"]),
        ".github/workflows/ci.yml": "on: push\n",
        "lanes.yml": lanes_yml,
    }
    del files["pnpm-workspace.yaml"]
    repo = make_repo(tmp_path / "greedy-root", files)
    workflow = detect_json(repo, "--paths-from-stdin", stdin=b".github/workflows/ci.yml\n")
    assert workflow["unmatched"] == [".github/workflows/ci.yml"]
    assert workflow["mode"] == "fail-safe"
    member = detect_json(repo, "--paths-from-stdin", stdin=b"packages/core/src/index.ts\n")
    assert member["reasons"]["core"][0]["component"] == "core"
    own = detect_json(repo, "--paths-from-stdin", stdin=b"tools/gen.js\n")
    assert (own["mode"], own["selected"]) == ("precise", ["tool"])


# --- the cache key covers everything parse reads ----------------------------------------------


def selected_for(repo: Path, path: str) -> set[str]:
    data = detect_json(repo, "--paths-from-stdin", stdin=f"{path}\n".encode())
    assert data["mode"] == "precise", data["failsafe"]
    return set(data["selected"])


PNPM_LOCK_UNRELATED_ON_CORE = """\
lockfileVersion: '9.0'

importers:

  apps/unrelated:
    dependencies:
      core:
        specifier: '*'
        version: link:../../packages/core
"""


def test_warm_cache_follows_every_input(core_repo: Path) -> None:
    core_file = "packages/core/src/index.ts"
    assert "unrelated" not in selected_for(core_repo, core_file)
    assert "unrelated" not in selected_for(core_repo, core_file)  # warm
    write_files(core_repo, {"pnpm-lock.yaml": PNPM_LOCK_UNRELATED_ON_CORE})
    assert "unrelated" in selected_for(core_repo, core_file)  # lockfile added
    write_files(core_repo, {"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"})
    assert "unrelated" not in selected_for(core_repo, core_file)  # lockfile edited
    (core_repo / "apps/late").mkdir()
    write_files(core_repo, {"apps/late/package.json": pkg("late", dependencies={"core": "*"})})
    assert "late" in selected_for(core_repo, core_file)  # manifest appears in a matched dir
    (core_repo / "apps/late/package.json").unlink()
    assert "late" not in selected_for(core_repo, core_file)  # member manifest removed
    write_files(core_repo, {"pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n"})
    assert "app" not in selected_for(core_repo, core_file)  # member glob expands differently


def test_warm_detect_in_a_pnpm_workspace_does_not_import_yaml(core_repo: Path) -> None:
    """``locate`` reads pnpm-workspace.yaml on every run: through the document cache."""
    probe = (
        "import sys, io\n"
        "from lanes.cli import main\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'packages/core/src/index.ts\\n'))\n"
        "code = main(['detect', '--paths-from-stdin', '--format', 'json'])\n"
        "print(sorted(m for m in ('yaml', 'tomllib', 'networkx') if m in sys.modules))\n"
    )
    env = {**os.environ, "LANES_CACHE_DIR": str(core_repo / ".cache")}
    run = [sys.executable, "-c", probe]
    cold = subprocess.run(run, cwd=core_repo, env=env, check=True, capture_output=True, text=True)
    assert "yaml" in cold.stdout.strip().splitlines()[-1]
    warm = subprocess.run(run, cwd=core_repo, env=env, check=True, capture_output=True, text=True)
    assert warm.stdout.strip().splitlines()[-1] == "[]", warm.stdout
