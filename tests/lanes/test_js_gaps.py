"""JS workspace cases probed against the real package managers (npm 11.19.1, pnpm 9.15.9 and
10.34.9, yarn 4.18.1; node 20), in the style of ``test_js_adversarial``: the lockfiles under
``data/jslocks/gap-*`` were written by the real tools for the manifests below.

* A patch file outside the patched package and its consumer: yarn ``patch:`` with a
  ``~/.yarn/patches/...`` path (root ``resolutions``, as ``yarn patch-commit -s`` writes it) or a
  path relative to the declaring member (``../../patches/le.patch``), pnpm
  ``patchedDependencies`` (root ``package.json``, ``pnpm-workspace.yaml`` in pnpm 10). A change
  to it changes what the consumer installs, and was ``unmatched`` (a silent drop under
  ``unmatched: ignore``).
* pnpm injected workspace packages (``dependenciesMeta.<name>.injected``,
  ``injectWorkspacePackages``): the lock records ``file:<path>`` from the lockfile's directory.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lanes.fixtures import commit_all
from tests.lanes.test_check_stale_yarn import yarn_berry
from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import detect, make_repo, selected
from tests.lanes.test_js_adversarial import run_tool

DATA = Path(__file__).resolve().parent / "data" / "jslocks"
PNPM_WORKSPACE = "packages:\n  - 'packages/*'\n"
YARN = yarn_berry()
# A patch of loose-envify@1.4.0 (the registry package of these cases), as yarn and pnpm apply it.
LOOSE_ENVIFY_PATCH = (
    "diff --git a/index.js b/index.js\n--- a/index.js\n+++ b/index.js\n@@ -1,3 +1,4 @@\n"
    " 'use strict';\n \n module.exports = require('./loose-envify')(process.env);\n"
    "+module.exports.patched = true;\n"
)
B_PATCH = (
    "--- a/index.js\n+++ b/index.js\n@@ -1 +1 @@\n-module.exports = 1;\n+module.exports = 2;\n"
)


def manifest(name: str, **fields: Any) -> str:
    return json.dumps({"name": name, "version": "1.0.0", **fields}, indent=2) + "\n"


def lock(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def root(**fields: Any) -> str:
    return json.dumps({"name": "root", "private": True, **fields}) + "\n"


# --- patch files outside the patched package -------------------------------------------------


def yarn_resolutions_patch() -> dict[str, str]:
    resolutions = {
        "loose-envify@npm:1.4.0": (
            "patch:loose-envify@npm%3A1.4.0#~/.yarn/patches/loose-envify-npm-1.4.0.patch"
        ),
        "b@workspace:packages/b": "patch:b@workspace%3Apackages/b#~/.yarn/patches/b.patch",
    }
    return {
        "package.json": root(workspaces=["packages/*"], resolutions=resolutions),
        ".yarnrc.yml": "nodeLinker: node-modules\n",
        "packages/a/package.json": manifest(
            "a", dependencies={"loose-envify": "1.4.0", "b": "workspace:*"}
        ),
        "packages/b/package.json": manifest("b", main="index.js"),
        "packages/b/index.js": "module.exports = 1;\n",
        "packages/c/package.json": manifest("c", dependencies={"b": "workspace:*"}),
        "packages/d/package.json": manifest("d"),
        ".yarn/patches/loose-envify-npm-1.4.0.patch": LOOSE_ENVIFY_PATCH,
        ".yarn/patches/b.patch": B_PATCH,
    }


def test_yarn_resolutions_patch_outside_every_member(tmp_path: Path) -> None:
    """Root ``resolutions`` patch loose-envify (installed for ``a``: ``yarn.lock`` records the
    ``patch:`` resolution) and the member ``b`` from ``~/.yarn/patches``: a change to the
    registry package's patch may change any package's install tree (every package), to the
    member's patch whatever uses ``b`` (``b`` and its dependents, not ``d``)."""
    files = yarn_resolutions_patch()
    for extra in ({}, {"yarn.lock": lock("gap-patch-resolutions-yarn4.yarn.lock")}):
        repo = make_repo(tmp_path / f"repo{len(extra)}", {**files, **extra})
        patched = ".yarn/patches/loose-envify-npm-1.4.0.patch"
        assert selected(repo, patched) == {"a", "b", "c", "d", "root"}
        assert selected(repo, ".yarn/patches/b.patch") == {"a", "b", "c"}
        reasons = detect(repo, patched)["reasons"]["a"]
        assert [r["rule"] for r in reasons] == [f"reads {patched}"]


def test_yarn_resolutions_patch_of_a_registry_package_named_as_a_member(tmp_path: Path) -> None:
    """``js-tokens@npm:4.0.0`` is the registry package (loose-envify's dependency in ``a``'s
    tree), not the member ``js-tokens`` 9.0.0: its patch is every package's input, not the
    member's alone (which ``a`` does not depend on). The source's range without a protocol is
    yarn's default ``npm:``."""
    spec = "patch:js-tokens@^4.0.0#~/.yarn/patches/js-tokens.patch"
    files = {
        "package.json": root(workspaces=["packages/*"], resolutions={"js-tokens@npm:4.0.0": spec}),
        "packages/a/package.json": manifest("a", dependencies={"loose-envify": "1.4.0"}),
        "packages/js-tokens/package.json": json.dumps({"name": "js-tokens", "version": "9.0.0"}),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, ".yarn/patches/js-tokens.patch") == {"a", "js-tokens", "root"}


def test_yarn_patch_relative_to_the_declaring_member(tmp_path: Path) -> None:
    """``a`` depends on ``patch:loose-envify@npm%3A1.4.0#../../patches/le.patch``: yarn reads
    the patch from ``a``'s directory (``::locator=a@workspace:packages/a`` in the lock), so
    ``patches/le.patch`` is ``a``'s input (its dependent ``b`` follows; ``c`` does not)."""
    spec = "patch:loose-envify@npm%3A1.4.0#../../patches/le.patch"
    files = {
        "package.json": root(workspaces=["packages/*"]),
        ".yarnrc.yml": "nodeLinker: node-modules\n",
        "packages/a/package.json": manifest("a", dependencies={"loose-envify": spec}),
        "packages/b/package.json": manifest("b", dependencies={"a": "workspace:*"}),
        "packages/c/package.json": manifest("c"),
        "patches/le.patch": LOOSE_ENVIFY_PATCH,
        "yarn.lock": lock("gap-patch-relative-yarn4.yarn.lock"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "patches/le.patch") == {"a", "b"}


@pytest.mark.parametrize(
    ("spec", "read"),
    [
        ("patch:x@npm%3A1.0.0#./p/x.patch&optional!../../q.patch::locator=a", "q.patch"),
        ("patch:x@npm%3A1.0.0#~/p%20q/x.patch", "p q/x.patch"),
        ("patch:x@npm%3A1.0.0#~/p%20q/x.patch", "p%20q/x.patch"),
        ("patch:typescript@npm%3A5#optional!builtin<compat/typescript>&~/t.patch", "t.patch"),
    ],
)
def test_yarn_patch_paths(tmp_path: Path, spec: str, read: str) -> None:
    """Several patches (``&``), ``optional!``, ``::`` parameters, URL-encoded paths (both
    spellings, as yarn may decode them) and yarn's built-in patches (no file)."""
    files = {
        "package.json": root(workspaces=["packages/*"]),
        "packages/a/package.json": manifest("a", dependencies={"x": spec}),
        "packages/b/package.json": manifest("b"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, read) == {"a"}


def pnpm_patched(where: str) -> dict[str, str]:
    patched = {"loose-envify@1.4.0": "patches/loose-envify@1.4.0.patch"}
    files = {
        "packages/a/package.json": manifest("a", dependencies={"loose-envify": "1.4.0"}),
        "packages/b/package.json": manifest("b", dependencies={"a": "workspace:*"}),
        "packages/c/package.json": manifest("c"),
        "patches/loose-envify@1.4.0.patch": LOOSE_ENVIFY_PATCH,
    }
    if where == "package.json":
        files["package.json"] = root(pnpm={"patchedDependencies": patched})
        files["pnpm-workspace.yaml"] = PNPM_WORKSPACE
        files["pnpm-lock.yaml"] = lock("gap-patched-pnpm9.pnpm-lock.yaml")
    else:  # pnpm 10: the setting in pnpm-workspace.yaml, keyed by name alone
        files["package.json"] = root()
        patched_yaml = "patchedDependencies:\n  loose-envify: patches/loose-envify@1.4.0.patch\n"
        files["pnpm-workspace.yaml"] = PNPM_WORKSPACE + patched_yaml
        files["pnpm-lock.yaml"] = lock("gap-patched-pnpm10.pnpm-lock.yaml")
    return files


@pytest.mark.parametrize("where", ["package.json", "pnpm-workspace.yaml"])
def test_pnpm_patched_dependencies(tmp_path: Path, where: str) -> None:
    """``patchedDependencies`` patch loose-envify wherever it is installed (the lock shows it in
    ``a``'s importer as ``1.4.0(patch_hash=...)``): every package reads the patch file. A patch
    outside the repository, which no change can touch, adds no read (nor an error)."""
    files = pnpm_patched(where)
    outside = {"x@1": "../outside.patch", "y@1": "/abs.patch", "z@1": 3}
    if where == "package.json":
        data = json.loads(files["package.json"])
        data["pnpm"]["patchedDependencies"].update(outside)
        files["package.json"] = json.dumps(data)
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "patches/loose-envify@1.4.0.patch") == {"a", "b", "c", "root"}
    assert selected(repo, "packages/c/index.js") == {"c"}


@pytest.mark.skipif(YARN is None, reason="yarn berry (2+) is not installed ($LANES_TEST_YARN)")
def test_differential_yarn_patch_from_the_project_root(tmp_path: Path) -> None:
    """Real yarn installs ``d``'s ``patch:b@workspace:packages/b#~/patches/b.patch`` (offline:
    no registry package) from the project root's ``patches/``; lanes selects ``d`` (and its
    dependent ``e``) for a change to that patch."""
    assert YARN is not None
    files = {
        "package.json": root(workspaces=["packages/*"]),
        ".yarnrc.yml": "nodeLinker: node-modules\n",
        "yarn.lock": "",
        "packages/b/package.json": manifest("b", main="index.js"),
        "packages/b/index.js": "module.exports = 1;\n",
        "packages/d/package.json": manifest(
            "d", dependencies={"pb": "patch:b@workspace:packages/b#~/patches/b.patch"}
        ),
        "packages/e/package.json": manifest("e", dependencies={"d": "workspace:*"}),
        "patches/b.patch": B_PATCH,
    }
    repo = make_repo(tmp_path / "repo", files)
    run_tool([YARN, "install", "--no-immutable"], repo)
    assert "d@workspace:packages/d" in run_tool([YARN, "why", "pb"], repo)
    (archive,) = (repo / ".yarn/cache").glob("pb-patch-*.zip")  # the patched copy of b
    with zipfile.ZipFile(archive) as patched:
        assert patched.read("node_modules/pb/index.js") == b"module.exports = 2;\n"
    (repo / ".gitignore").write_text("node_modules\n.yarn\n")
    commit_all(repo, "install")
    assert selected(repo, "patches/b.patch") == {"d", "e"}  # b itself is not patched


# --- pnpm injected workspace packages (already right) ----------------------------------------


@pytest.mark.parametrize(
    ("data", "config"),
    [
        ("gap-injected-pnpm9.pnpm-lock.yaml", {".npmrc": "dedupe-injected-deps=false\n"}),
        (
            "gap-inject-workspace-pnpm10.pnpm-lock.yaml",
            {"pnpm-workspace.yaml": PNPM_WORKSPACE + "injectWorkspacePackages: true\n"},
        ),
    ],
)
def test_pnpm_injected_workspace_packages(
    tmp_path: Path, data: str, config: dict[str, str]
) -> None:
    """pnpm hard-links a copy of ``b`` into ``a`` (``dependenciesMeta.b.injected`` with
    ``dedupe-injected-deps=false``, or pnpm 10's ``injectWorkspacePackages``); the lock records
    ``version: file:packages/b``, from the lockfile's directory, not the importer's. The edge is
    the manifest's; with the manifest's dependency gone, the lock's alone (``lockfile-edge:b``)."""
    meta = {"dependenciesMeta": {"b": {"injected": True}}} if "pnpm9" in data else {}
    files = {
        "package.json": root(),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        **config,
        "packages/a/package.json": manifest("a", dependencies={"b": "workspace:*"}, **meta),
        "packages/b/package.json": manifest("b", main="index.js"),
        "packages/c/package.json": manifest("c", devDependencies={"a": "workspace:*"}),
        "pnpm-lock.yaml": lock(data),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/b/index.js") == {"a", "b", "c"}
    files["packages/a/package.json"] = manifest("a")
    stale = make_repo(tmp_path / "stale", files)
    found = detect(stale, "packages/b/index.js")
    assert set(found["selected"]) == {"a", "b", "c"}, found["failsafe"]
    assert "normal+lockfile-edge" in json.dumps(found["reasons"]["a"])


# --- pnpm shared-workspace-lockfile=false: a lock per package ---------------------------------


def own_locks() -> dict[str, str]:
    """pnpm 9 with ``shared-workspace-lockfile=false``: ``a`` depends on ``b`` and
    loose-envify, ``c`` on ``a`` (dev); each package's lock has the importer ``.`` (itself),
    with ``link:../b`` from there; the root's lists the root alone."""
    files = {
        "package.json": root(),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        ".npmrc": "shared-workspace-lockfile=false\n",
        "pnpm-lock.yaml": lock("gap-own-root-pnpm9.pnpm-lock.yaml"),
        "packages/a/package.json": manifest(
            "a", dependencies={"b": "workspace:*", "loose-envify": "1.4.0"}
        ),
        "packages/b/package.json": manifest("b"),
        "packages/c/package.json": manifest("c", devDependencies={"a": "workspace:*"}),
    }
    for member in "abc":
        files[f"packages/{member}/pnpm-lock.yaml"] = lock(f"gap-own-{member}-pnpm9.pnpm-lock.yaml")
    return files


def lanes_check(repo: Path) -> str:
    done = lanes(repo, "check")
    return str(done.stdout) + str(done.stderr)


def test_pnpm_own_locks_are_read_as_locks(tmp_path: Path) -> None:
    """Each package's own ``pnpm-lock.yaml`` is its lock: a link only it records is an edge
    (``a`` without ``b`` in its manifest still depends on it), and ``lanes check`` neither
    calls every package missing from the root's lock stale nor misses a stale own lock."""
    files = own_locks()
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/b/index.js") == {"a", "b", "c"}
    assert selected(repo, "packages/a/pnpm-lock.yaml") == {"a", "c"}  # owned by a
    assert "not listed" not in lanes_check(repo)
    files["packages/a/package.json"] = manifest("a", dependencies={"loose-envify": "1.4.0"})
    files["packages/c/package.json"] = manifest("c", devDependencies={"b": "workspace:*"})
    stale = make_repo(tmp_path / "stale", files)
    found = detect(stale, "packages/b/index.js")
    assert set(found["selected"]) == {"a", "b", "c"}, found["failsafe"]
    assert "normal+lockfile-edge" in json.dumps(found["reasons"]["a"])
    report = lanes_check(stale)
    assert "c -> b (dev) is stated by packages/c/package.json" in report, report
    assert "packages/c/pnpm-lock.yaml" in report, report


def test_a_broken_own_lock_fails_safe(tmp_path: Path) -> None:
    files = own_locks()
    files["packages/c/pnpm-lock.yaml"] = files["packages/c/pnpm-lock.yaml"].replace(
        "link:../a", "link:../gone"
    )
    data = detect(make_repo(tmp_path / "repo", files), "packages/b/index.js")
    assert data["mode"] == "fail-safe"
    assert any(
        c.startswith("unresolved-dependency: packages/c/pnpm-lock.yaml:") for c in data["failsafe"]
    )


PNPM = os.environ.get("LANES_TEST_PNPM") or shutil.which("pnpm")


@pytest.mark.skipif(PNPM is None, reason="pnpm is not installed (set $LANES_TEST_PNPM)")
def test_differential_pnpm_own_locks(tmp_path: Path) -> None:
    """Real pnpm (offline: no registry package) writes a lock per package; each links what
    lanes links, and a link only the own lock records (``a``'s manifest no longer names ``b``)
    is still an edge."""
    assert PNPM is not None
    files = {
        "package.json": root(),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        ".npmrc": "shared-workspace-lockfile=false\n",
        "packages/a/package.json": manifest("a", dependencies={"b": "workspace:*"}),
        "packages/b/package.json": manifest("b"),
        "packages/c/package.json": manifest("c", devDependencies={"a": "workspace:*"}),
    }
    repo = make_repo(tmp_path / "repo", files)
    run_tool([PNPM, "install", "--offline", "--no-frozen-lockfile"], repo)
    own = yaml.safe_load((repo / "packages/a/pnpm-lock.yaml").read_text())["importers"]["."]
    assert own["dependencies"]["b"]["version"] == "link:../b"
    assert os.readlink(repo / "packages/a/node_modules/b") == "../../b"
    (repo / ".gitignore").write_text("node_modules\n")
    (repo / "packages/a/package.json").write_text(manifest("a"))
    commit_all(repo, "install")
    assert selected(repo, "packages/b/index.js") == {"a", "b", "c"}


# --- the rest: nested yarn workspaces, aliases, peers, symlinked members ------------------------


def test_nested_yarn_workspaces_without_a_lock_fail_safe(tmp_path: Path) -> None:
    """yarn 4 links ``b``'s ``"x": "^1.0.0"`` to ``x``, a workspace of the member ``a``'s own
    ``workspaces`` (``yarn why x``: ``x@workspace:packages/a/sub/x (via npm:^1.0.0)``). lanes
    does not follow nested workspaces, and without a lock nothing shows the link: a change to
    ``x`` selected ``a`` alone. Such a member is now ``unresolved-dependency``."""
    files = {
        "package.json": root(workspaces=["packages/*"]),
        "packages/a/package.json": json.dumps(
            {"name": "a", "private": True, "workspaces": ["sub/*"]}, indent=2
        ),
        "packages/a/sub/x/package.json": manifest("x"),
        "packages/b/package.json": manifest("b", dependencies={"x": "^1.0.0"}),
    }
    data = detect(make_repo(tmp_path / "repo", files), "packages/a/sub/x/index.js")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == ["unresolved-dependency: packages/a/package.json:4"]
    assert set(data["selected"]) == {"a", "b", "root"}


def test_pnpm_alias_and_auto_installed_peer_of_members(tmp_path: Path) -> None:
    """pnpm 9 (``link-workspace-packages=true``) links ``"x": "npm:b@^1"`` and, with
    ``autoInstallPeers``, ``c``'s peer ``b`` to the member (the lock: ``link:../b`` for both;
    ``packages/*/node_modules`` hold the symlinks). Already right, and ``lanes check`` finds
    the lock fresh."""
    files = {
        "package.json": root(),
        "pnpm-workspace.yaml": PNPM_WORKSPACE,
        ".npmrc": "link-workspace-packages=true\n",
        "packages/a/package.json": manifest("a", dependencies={"x": "npm:b@^1"}),
        "packages/b/package.json": manifest("b"),
        "packages/c/package.json": manifest("c", peerDependencies={"b": "^1.0.0"}),
        "pnpm-lock.yaml": lock("gap-alias-peer-pnpm9.pnpm-lock.yaml"),
    }
    repo = make_repo(tmp_path / "repo", files)
    assert selected(repo, "packages/b/index.js") == {"a", "b", "c"}
    assert "warn" not in lanes_check(repo)


def test_a_member_reached_through_a_symlinked_directory(tmp_path: Path) -> None:
    """``packages/c`` is a symbolic link to ``libs/c``: npm 11 makes it the workspace ``c``
    (``node_modules/c -> ../packages/c``, the lock's ``"resolved": "packages/c"``), so a change
    under ``libs/c`` changes ``c``; it was ``unmatched`` (a silent drop under
    ``unmatched: ignore``)."""
    files = {
        "package.json": root(workspaces=["packages/*"]),
        "packages/a/package.json": manifest("a", dependencies={"c": "^1.0.0"}),
        "libs/c/package.json": manifest("c"),
    }
    repo = tmp_path / "repo"
    (repo / "packages").mkdir(parents=True)
    (repo / "packages/c").symlink_to("../libs/c")
    repo = make_repo(repo, files)
    assert selected(repo, "libs/c/index.js") == {"a", "c"}
    assert selected(repo, "packages/c/index.js") == {"a", "c"}
