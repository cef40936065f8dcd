"""JS workspaces where the package manager links a workspace package in a way no manifest edge
between workspace packages shows, judged by what the real tool installed.

The lockfiles under ``data/jslocks/adv-*`` were written by the real package managers (npm
11.19.1, pnpm 9.15.9, yarn 4.18.1; node 20) for the manifests below; ``loose-envify@1.4.0`` is
the registry package of the cases, and requires ``js-tokens@^3.0.0 || ^4.0.0``:

* a registry package's own dependency resolves to a workspace package of that name (npm's
  ``node_modules`` lookup finds the workspace link, yarn resolves the descriptor to the
  workspace; ``npm ls`` and ``yarn why`` show it), and pnpm's ``link-workspace-packages=deep``
  links it in the lock's ``snapshots``;
* ``packageExtensions`` (``pnpm.packageExtensions``, ``.yarnrc.yml``) adds a dependency on a
  workspace package to a registry package or to a workspace package (yarn records neither in
  ``yarn.lock``: ``yarn why`` shows them);
* a yarn ``patch:`` of a workspace package (``patch:b@workspace:packages/b#./b.patch``);
* package-manager configuration at the workspace root (``.npmrc``, ``.pnpmfile.cjs``,
  ``.yarnrc.yml``) decides what links where: a workspace input;
* a pnpm ``catalog:`` specifier naming a workspace package through an ``npm:`` alias.

Each case was an under-selection (``lanes detect`` exiting 0 in mode ``precise`` without the
package that really uses the changed one) or, for the configuration files, ``unmatched``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lanes.fixtures import commit_all
from tests.lanes.test_check_stale_yarn import yarn_berry
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, selected

DATA = Path(__file__).resolve().parent / "data" / "jslocks"


def manifest(name: str, **fields: Any) -> str:
    return json.dumps({"name": name, "version": "1.0.0", **fields}, indent=2) + "\n"


ROOT = json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]}) + "\n"
PNPM_WORKSPACE = "packages:\n  - 'packages/*'\n"
USES_LOOSE_ENVIFY = manifest("a", dependencies={"loose-envify": "1.4.0"})
VIA_WORKSPACE = {
    "package.json": ROOT,
    "packages/a/package.json": USES_LOOSE_ENVIFY,
    "packages/js-tokens/package.json": json.dumps({"name": "js-tokens", "version": "4.0.0"}),
}


def lock(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("lockfile", "data", "extra"),
    [
        ("package-lock.json", "adv-via-npm11.package-lock.json", {}),
        ("yarn.lock", "adv-via-yarn4.yarn.lock", {}),
        (
            "pnpm-lock.yaml",
            "adv-deep-pnpm9.pnpm-lock.yaml",
            {"pnpm-workspace.yaml": PNPM_WORKSPACE, ".npmrc": "link-workspace-packages=deep\n"},
        ),
    ],
)
def test_a_registry_package_resolving_to_a_workspace_package_links_it(
    tmp_path: Path, lockfile: str, data: str, extra: dict[str, str]
) -> None:
    files = {**VIA_WORKSPACE, **extra, lockfile: lock(data)}
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/js-tokens/index.js") == {"a", "js-tokens"}
    assert selected(repo, "packages/a/index.js") == {"a"}


def test_pnpm_registry_package_without_a_link_is_not_a_workspace_edge(tmp_path: Path) -> None:
    """Without ``deep``, pnpm installs the registry ``js-tokens`` for loose-envify (the lock's
    snapshot says ``js-tokens: 4.0.0``): the workspace package of that name is not used."""
    text = lock("adv-deep-pnpm9.pnpm-lock.yaml").replace(
        "js-tokens: link:packages/js-tokens", "js-tokens: 4.0.0"
    )
    files = {**VIA_WORKSPACE, "pnpm-workspace.yaml": PNPM_WORKSPACE, "pnpm-lock.yaml": text}
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/js-tokens/index.js") == {"js-tokens"}


def test_pnpm_package_extensions_on_a_registry_package(tmp_path: Path) -> None:
    extensions = {"loose-envify@1": {"dependencies": {"b": "workspace:*"}}}
    root = {"name": "root", "private": True, "pnpm": {"packageExtensions": extensions}}
    files = {
        "package.json": json.dumps(root),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        "packages/a/package.json": USES_LOOSE_ENVIFY,
        "packages/b/package.json": manifest("b"),
        "packages/js-tokens/package.json": manifest("js-tokens"),
        "pnpm-lock.yaml": lock("adv-extensions-pnpm9.pnpm-lock.yaml"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert "a" in selected(repo, "packages/b/index.js")
    # without the lock, the manifest's extension alone: every package may hold loose-envify
    del files["pnpm-lock.yaml"]
    bare = make_repo(tmp_path / "bare", files)
    assert {"a", "js-tokens"} <= selected(bare, "packages/b/index.js")


YARNRC_EXTENSIONS = """\
nodeLinker: node-modules
packageExtensions:
  'loose-envify@*':
    dependencies:
      b: 'workspace:*'
  'a@*':
    dependencies:
      c: 'workspace:*'
"""


def test_yarn_package_extensions_which_yarn_lock_does_not_record(tmp_path: Path) -> None:
    files = {
        "package.json": ROOT,
        ".yarnrc.yml": YARNRC_EXTENSIONS,
        "packages/a/package.json": USES_LOOSE_ENVIFY,
        "packages/b/package.json": manifest("b"),
        "packages/c/package.json": manifest("c"),
        "yarn.lock": lock("adv-extensions-yarn4.yarn.lock"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/c/index.js") == {"a", "c"}  # a@* names the workspace a
    assert "a" in selected(repo, "packages/b/index.js")  # through loose-envify


@pytest.mark.parametrize(
    ("yarnrc", "code"),
    [
        ("packageExtensions: [unclosed\n", "manifest-error: .yarnrc.yml:2"),
        ("nodeLinker: node-modules\n" + "#" * (1 << 20) + "\n", "manifest-error: .yarnrc.yml:0"),
    ],
)
def test_an_unreadable_yarnrc_fails_safe(tmp_path: Path, yarnrc: str, code: str) -> None:
    files = {
        "package.json": ROOT,
        ".yarnrc.yml": yarnrc,
        "packages/b/package.json": manifest("b"),
        "packages/c/package.json": manifest("c"),
    }
    data = detect(make_repo(tmp_path / "repo", files), "packages/c/index.js")
    assert data["mode"] == "fail-safe"
    assert set(data["selected"]) == set(data["lanes"]) >= {"b", "c"}  # every lane
    assert code in data["failsafe"], data["failsafe"]


def test_yarn_patch_of_a_workspace_package(tmp_path: Path) -> None:
    patched = "patch:b@workspace:packages/b#./b.patch"
    files = {
        "package.json": ROOT,
        ".yarnrc.yml": "nodeLinker: node-modules\n",
        "packages/b/package.json": manifest("b", main="index.js"),
        "packages/c/package.json": manifest("c"),
        "packages/d/package.json": manifest("d", dependencies={"pb": patched}),
        "packages/e/package.json": manifest(
            "e", dependencies={"pb": "portal:../b", "lb": "link:../c"}
        ),
    }
    bare = make_repo(tmp_path / "bare", dict(files))
    assert selected(bare, "packages/b/index.js") == {"b", "d", "e"}
    locked = make_repo(
        tmp_path / "locked", {**files, "yarn.lock": lock("adv-patch-yarn4.yarn.lock")}
    )
    assert selected(locked, "packages/b/index.js") == {"b", "d", "e"}


@pytest.mark.parametrize("config", [".npmrc", ".pnpmfile.cjs", ".yarnrc.yml"])
def test_package_manager_configuration_is_a_workspace_input(tmp_path: Path, config: str) -> None:
    files = {
        "package.json": ROOT,
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        "packages/a/package.json": manifest("a"),
        "packages/b/package.json": manifest("b"),
        config: "module.exports = {}\n" if config.endswith(".cjs") else "\n",
    }
    repo = make_repo(tmp_path / "repo", files)
    data = detect(repo, config)
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"a", "b", "root"}
    assert {r["code"] for r in data["reasons"]["a"]} == {"global"}


def catalog_workspace() -> dict[str, str]:
    catalogs = "catalog:\n  x: 'npm:c@^1.0.0'\ncatalogs:\n  alt:\n    y: 'npm:d@^1'\n"
    return {
        "package.json": json.dumps({"name": "root", "private": True}),
        "pnpm-workspace.yaml": PNPM_WORKSPACE + catalogs,
        ".npmrc": "link-workspace-packages=true\n",
        "packages/a/package.json": manifest("a", dependencies={"x": "catalog:"}),
        "packages/b/package.json": manifest("b", dependencies={"y": "catalog:alt"}),
        "packages/c/package.json": manifest("c"),
        "packages/d/package.json": manifest("d"),
    }


def test_pnpm_catalog_alias_to_a_workspace_package(tmp_path: Path) -> None:
    """``x: catalog:`` with ``catalog: {x: npm:c@^1.0.0}``: pnpm 9 and 10 link ``x`` to the
    workspace ``c`` (with ``link-workspace-packages``); without a lock only the catalog says so."""
    repo = make_repo(tmp_path / "repo", catalog_workspace())
    assert selected(repo, "packages/c/index.js") == {"a", "c"}
    assert selected(repo, "packages/d/index.js") == {"b", "d"}


# --- the real tools, where installed ---------------------------------------------------------


def pnpm() -> str | None:
    """``$LANES_TEST_PNPM``, else a ``pnpm`` on ``PATH`` (9.5+: catalogs), or None."""
    return os.environ.get("LANES_TEST_PNPM") or shutil.which("pnpm")


PNPM = pnpm()
YARN = yarn_berry()
TOOL_ENV = {"CI": "1", "YARN_ENABLE_TELEMETRY": "0", "YARN_ENABLE_GLOBAL_CACHE": "0"}


def run_tool(command: list[str], cwd: Path) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **TOOL_ENV}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.skipif(PNPM is None, reason="pnpm is not installed (set $LANES_TEST_PNPM)")
def test_differential_pnpm_catalog(tmp_path: Path) -> None:
    """Real pnpm locks the catalog workspace (offline: no registry package) and links ``x`` to
    the workspace ``c``; lanes, with and without that lock, selects ``a`` for ``c``."""
    assert PNPM is not None
    files = catalog_workspace()
    repo = make_repo(tmp_path / "repo", files)
    run_tool([PNPM, "install", "--lockfile-only", "--offline"], repo)
    importers = yaml.safe_load((repo / "pnpm-lock.yaml").read_text())["importers"]
    assert importers["packages/a"]["dependencies"]["x"]["version"] == "link:../c"
    commit_all(repo, "lock")
    assert selected(repo, "packages/c/index.js") == {"a", "c"}


@pytest.mark.skipif(YARN is None, reason="yarn berry (2+) is not installed ($LANES_TEST_YARN)")
def test_differential_yarn_extensions_and_patch(tmp_path: Path) -> None:
    """Real yarn installs a workspace with a ``packageExtensions`` dependency of one workspace
    on another and a ``patch:`` of a workspace (no registry package: offline); ``yarn why``
    names the dependents, and lanes selects them."""
    assert YARN is not None
    extensions = "packageExtensions:\n  'a@*':\n    dependencies:\n      c: 'workspace:*'\n"
    patch = (
        "--- a/index.js\n+++ b/index.js\n@@ -1 +1 @@\n-module.exports = 1;\n+module.exports = 2;\n"
    )
    files = {
        "package.json": ROOT,
        ".yarnrc.yml": "nodeLinker: node-modules\n" + extensions,
        "yarn.lock": "",
        "packages/a/package.json": manifest("a"),
        "packages/b/package.json": manifest("b", main="index.js"),
        "packages/b/index.js": "module.exports = 1;\n",
        "packages/c/package.json": manifest("c"),
        "packages/d/package.json": manifest(
            "d", dependencies={"pb": "patch:b@workspace:packages/b#./b.patch"}
        ),
        "packages/d/b.patch": patch,
    }
    repo = make_repo(tmp_path / "repo", files)
    run_tool([YARN, "install", "--no-immutable"], repo)
    assert "a@workspace:packages/a" in run_tool([YARN, "why", "c"], repo)
    assert "d@workspace:packages/d" in run_tool([YARN, "why", "pb"], repo)  # patched b
    (repo / ".gitignore").write_text("node_modules\n.yarn\n")
    commit_all(repo, "install")
    assert selected(repo, "packages/c/index.js") == {"a", "c"}
    assert selected(repo, "packages/b/index.js") == {"b", "d"}
