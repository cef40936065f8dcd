"""End to end on JS workspaces (real git repositories, the real ``lanes`` process): what a
change to a package reaches, who owns root-level files, and the cache key."""

from __future__ import annotations

import json
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
