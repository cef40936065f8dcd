"""A JS workspace root's own dependencies reach every member, and a member's reach the members
nested in its directory.

The root's ``node_modules`` holds what the root package depends on, and Node's module
resolution looks upwards from a member's directory, so every member resolves it (pnpm, whose
root ``node_modules`` holds nothing else, shows it best: ``require.resolve('config')`` from
``packages/a`` finds the root's devDependency ``config`` and not the sibling ``b``). That is how
a workspace shares its ESLint, TypeScript or test configuration packages, and Turborepo makes
every package depend on the root for it. Before, a change to such a package selected only the
root (when it had a name) or nothing at all (when it had none), in mode ``precise``.

The same holds for a member whose directory holds other members (``packages/ui`` and
``packages/ui/examples/demo``): the demo resolves what ``ui`` depends on.

The lockfiles under ``data/jslocks/root-devdep-*`` and ``nested-member-*`` were written by pnpm
9.15.9 and npm 11.19.1 (node 20) for the manifests below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo_semantics import detect, make_repo, selected

DATA = Path(__file__).resolve().parent / "data" / "jslocks"
PNPM_WORKSPACE = "packages:\n  - 'packages/*'\n"


def member(name: str, **fields: object) -> str:
    return json.dumps({"name": name, "version": "1.0.0", **fields}, indent=2) + "\n"


def root_manifest(named: bool, **fields: object) -> str:
    document: dict[str, object] = {"private": True, **fields}
    if named:
        document = {"name": "root", **document}
    return json.dumps(document, indent=2) + "\n"


MEMBERS = {f"packages/{name}/package.json": member(name) for name in ("a", "b", "config")}


def pnpm_files(named: bool) -> dict[str, str]:
    return {
        **MEMBERS,
        "package.json": root_manifest(named, devDependencies={"config": "workspace:*"}),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        "pnpm-lock.yaml": (DATA / "root-devdep-pnpm9.pnpm-lock.yaml").read_text(),
    }


@pytest.mark.parametrize("named", [True, False])
def test_a_pnpm_root_dev_dependency_selects_every_member(tmp_path: Path, named: bool) -> None:
    repo = make_repo(tmp_path / "repo", pnpm_files(named))
    expected = {"a", "b", "config", *(["root"] if named else [])}
    assert selected(repo, "packages/config/index.js") == expected
    assert selected(repo, "packages/b/index.js") == {"b"}


def test_an_npm_root_dependency_by_range_selects_every_member(tmp_path: Path) -> None:
    files = {
        **MEMBERS,
        "package.json": root_manifest(
            False, workspaces=["packages/*"], devDependencies={"config": "*"}
        ),
        "package-lock.json": (DATA / "root-devdep-npm11.package-lock.json").read_text(),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/config/index.js") == {"a", "b", "config"}


def test_explain_shows_each_member_reaching_the_root_dependency(tmp_path: Path) -> None:
    from tests.lanes.test_cli_cargo import lanes

    repo = make_repo(tmp_path / "repo", pnpm_files(False))
    result = lanes(repo, "explain", "packages/config/index.js")
    assert result.returncode == 0, result.stderr
    assert "lane a (root) -> config (dev)" in result.stdout, result.stdout
    assert "lane b (root) -> config (dev)" in result.stdout, result.stdout


def test_a_link_only_the_lock_records_for_the_root_reaches_every_member(tmp_path: Path) -> None:
    """The lock's root importer links ``config`` although the root manifest (edited since) no
    longer says so: what is installed is what the lock says, so the members still reach it."""
    files = {**pnpm_files(False), "package.json": root_manifest(False)}
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/config/index.js") == {"a", "b", "config"}


def test_an_unnamed_root_dependency_landing_nowhere_is_fail_safe(tmp_path: Path) -> None:
    files = {
        **MEMBERS,
        "package.json": root_manifest(False, devDependencies={"gone": "workspace:*"}),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
    }
    repo = make_repo(tmp_path / "repo", files)
    data = detect(repo, "packages/b/index.js")
    assert data["mode"] == "fail-safe"
    assert any("unresolved-dependency: package.json:" in r for r in data["failsafe"]), data


def test_a_member_nested_in_another_reaches_what_the_outer_one_depends_on(tmp_path: Path) -> None:
    files = {
        "package.json": root_manifest(True),
        "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - 'packages/*/examples/*'\n",
        "packages/ui/package.json": member("ui", dependencies={"config": "workspace:*"}),
        "packages/ui/examples/demo/package.json": member("demo"),
        "packages/config/package.json": member("config"),
        "pnpm-lock.yaml": (DATA / "nested-member-pnpm9.pnpm-lock.yaml").read_text(),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/config/index.js") == {"config", "ui", "demo"}
    assert selected(repo, "packages/ui/index.js") == {"ui"}


def test_a_lock_link_of_an_outer_member_reaches_the_nested_one(tmp_path: Path) -> None:
    files = {
        "package.json": root_manifest(True),
        "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - 'packages/*/examples/*'\n",
        "packages/ui/package.json": member("ui"),
        "packages/ui/examples/demo/package.json": member("demo"),
        "packages/config/package.json": member("config"),
        "pnpm-lock.yaml": (DATA / "nested-member-pnpm9.pnpm-lock.yaml").read_text(),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/config/index.js") == {"config", "ui", "demo"}


PNPM = os.environ.get("LANES_TEST_PNPM") or shutil.which("pnpm")


@pytest.mark.skipif(PNPM is None, reason="pnpm is not installed (set $LANES_TEST_PNPM)")
def test_what_node_resolves_after_a_real_pnpm_install_is_covered(tmp_path: Path) -> None:
    """Differential: after a real ``pnpm install``, every workspace package that Node resolves
    from a member's directory (``require.resolve``) is in what a change to it selects."""
    files = {
        **MEMBERS,
        "packages/d/package.json": member("d", dependencies={"b": "workspace:*"}),
        "packages/d/examples/e/package.json": member("e"),
        "package.json": root_manifest(True, devDependencies={"config": "workspace:*"}),
        "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - 'packages/*/examples/*'\n",
    }
    work = tmp_path / "install"
    for relative, text in files.items():
        (work / relative).parent.mkdir(parents=True, exist_ok=True)
        (work / relative).write_text(text)
    env = {**os.environ, "npm_config_offline": "true"}
    subprocess.run(
        [str(PNPM), "install", "--offline"], cwd=work, env=env, check=True, capture_output=True
    )
    directories = {"a": "a", "b": "b", "config": "config", "d": "d", "e": "d/examples/e"}
    repo = make_repo(
        tmp_path / "repo", {**files, "pnpm-lock.yaml": (work / "pnpm-lock.yaml").read_text()}
    )
    resolved = 0
    for source, directory in directories.items():
        for target, target_directory in directories.items():
            probe = f"require.resolve({json.dumps(target + '/package.json')})"
            found = subprocess.run(
                ["node", "-e", probe], cwd=work / "packages" / directory, capture_output=True
            )
            if found.returncode == 0 and source != target:
                resolved += 1
                changed = f"packages/{target_directory}/index.js"
                assert source in selected(repo, changed), (source, target)
    assert resolved >= 5  # a->config, b->config, d->b, e->config (root), e->b (through d)
