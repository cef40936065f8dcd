"""``lanes check`` on stale lockfiles: a manifest edge the committed lock does not record, and a
member it does not list, are warnings (``--strict``: failures); a fresh lock gives neither, and
selection follows the manifests either way. Real files in temporary git repositories; the
Cargo cases are in test_cli_cargo_semantics and the differential ones beside each ecosystem's
differential tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import make_repo, selected

LANES_YML = (
    "version: 1\nlanes:\n  a:\n    roots: [a]\n    run: python -c pass\n"
    "  b:\n    roots: [b]\n    run: python -c pass\n"
)


def pyproject(name: str, deps: str = "") -> str:
    sources = "[tool.uv.sources]\nb = { workspace = true }\n" if deps else ""
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{deps}]\n{sources}'


def uv_lock(*packages: tuple[str, str, str]) -> str:
    """(name, directory, dependencies block) entries of a uv.lock."""
    text = 'version = 1\nrequires-python = ">=3.11"\n'
    for name, directory, deps in packages:
        text += f'\n[[package]]\nname = "{name}"\nversion = "0.1.0"\n'
        text += f'source = {{ editable = "{directory}" }}\n{deps}'
    return text


UV = {
    "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
    "packages/a/pyproject.toml": pyproject("a", '"b"'),
    "packages/b/pyproject.toml": pyproject("b"),
    "lanes.yml": LANES_YML,
}
UV_FRESH = uv_lock(
    ("a", "packages/a", 'dependencies = [\n    { name = "b" },\n]\n'), ("b", "packages/b", "")
)
UV_STALE = uv_lock(("a", "packages/a", ""), ("b", "packages/b", ""))
UV_ABSENT = uv_lock(("b", "packages/b", ""))
STALE_UV = (
    "a -> b (normal) is stated by packages/a/pyproject.toml but not recorded by uv.lock: lanes "
    "follows the manifest; the lock is stale: run uv lock"
)


def check(repo: Path, *args: str) -> tuple[int, str]:
    result = lanes(repo, "check", *args)
    return result.returncode, result.stdout + result.stderr


def test_uv_a_manifest_edge_the_lock_does_not_record(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**UV, "uv.lock": UV_STALE})
    assert selected(repo, "packages/b/b.py") == {"a", "b"}
    code, out = check(repo)
    assert code == 0, out
    assert f"warn lanes.yml: {STALE_UV}" in out
    code, out = check(repo, "--strict")
    assert code == 1
    assert f"FAIL lanes.yml: {STALE_UV}" in out


def test_uv_a_fresh_lock_and_no_lock_say_nothing(tmp_path: Path) -> None:
    for name, lock in (("fresh", {"uv.lock": UV_FRESH}), ("none", {})):
        repo = make_repo(tmp_path / name, {**UV, **lock})
        code, out = check(repo, "--strict")
        assert code == 0, out
        assert "lock" not in out


def test_uv_a_member_the_lock_does_not_list(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**UV, "uv.lock": UV_ABSENT})
    code, out = check(repo)
    assert code == 0, out
    assert (
        "warn lanes.yml: a (packages/a/pyproject.toml) is not listed by uv.lock: lanes follows "
        "the manifests; the lock is stale: run uv lock"
    ) in out
    assert "a -> b" not in out
    assert check(repo, "--strict")[0] == 1


def package_json(name: str, deps: dict[str, str] | None = None) -> str:
    body: dict[str, object] = {"name": name, "version": "1.0.0"}
    if deps:
        body["dependencies"] = deps
    return json.dumps(body) + "\n"


JS = {
    "package.json": json.dumps({"private": True, "workspaces": ["packages/*"]}) + "\n",
    "pnpm-workspace.yaml": "packages:\n  - packages/*\n",
    "packages/a/package.json": package_json("a", {"b": "workspace:*"}),
    "packages/b/package.json": package_json("b"),
    "lanes.yml": LANES_YML,
}


def pnpm_lock(a_deps: bool, with_a: bool = True) -> str:
    text = "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n"
    if with_a:
        text += "\n  packages/a:" + ("\n" if a_deps else " {}\n")
        if a_deps:
            text += "    dependencies:\n      b:\n        specifier: workspace:*\n"
            text += "        version: link:../b\n"
    return text + "\n  packages/b: {}\n"


def npm_lock(a_deps: bool, with_a: bool = True) -> str:
    packages: dict[str, object] = {"": {"workspaces": ["packages/*"]}}
    if with_a:
        packages["node_modules/a"] = {"resolved": "packages/a", "link": True}
        packages["packages/a"] = {"name": "a", "version": "1.0.0"}
        if a_deps:
            packages["packages/a"] = {**packages["packages/a"], "dependencies": {"b": "*"}}  # type: ignore[dict-item]
    packages["node_modules/b"] = {"resolved": "packages/b", "link": True}
    packages["packages/b"] = {"name": "b", "version": "1.0.0"}
    data = {"name": "root", "lockfileVersion": 3, "requires": True, "packages": packages}
    return json.dumps(data, indent=2) + "\n"


def yarn_lock(a_deps: bool, with_a: bool = True) -> str:
    text = "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"
    if with_a:
        text += '"a@workspace:packages/a":\n  version: 0.0.0-use.local\n'
        text += '  resolution: "a@workspace:packages/a"\n'
        if a_deps:
            text += '  dependencies:\n    b: "workspace:*"\n'
        text += "  languageName: unknown\n  linkType: soft\n\n"
    text += '"b@workspace:*, b@workspace:packages/b":\n  version: 0.0.0-use.local\n'
    text += '  resolution: "b@workspace:packages/b"\n  languageName: unknown\n  linkType: soft\n\n'
    text += '"root@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "root@workspace:."\n'
    return text + "  languageName: unknown\n  linkType: soft\n"


LOCKS = {
    "pnpm-lock.yaml": (pnpm_lock, "pnpm install"),
    "package-lock.json": (npm_lock, "npm install"),
    "yarn.lock": (yarn_lock, "yarn install"),
}


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_manifest_edge_the_lock_does_not_record(lockfile: str, tmp_path: Path) -> None:
    write, command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(False)})
    assert selected(repo, "packages/b/index.js") == {"a", "b"}
    expected = (
        f"a -> b (normal) is stated by packages/a/package.json but not recorded by {lockfile}: "
        f"lanes follows the manifest; the lock is stale: run {command}"
    )
    code, out = check(repo)
    assert code == 0, out
    assert f"warn lanes.yml: {expected}" in out
    code, out = check(repo, "--strict")
    assert code == 1
    assert f"FAIL lanes.yml: {expected}" in out


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_fresh_lock_says_nothing(lockfile: str, tmp_path: Path) -> None:
    write, _command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(True)})
    code, out = check(repo, "--strict")
    assert code == 0, out
    assert "lock" not in out


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_member_the_lock_does_not_list(lockfile: str, tmp_path: Path) -> None:
    write, command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(True, with_a=False)})
    code, out = check(repo)
    assert code == 0, out
    assert (
        f"warn lanes.yml: a (packages/a/package.json) is not listed by {lockfile}: lanes "
        f"follows the manifests; the lock is stale: run {command}"
    ) in out
    assert check(repo, "--strict")[0] == 1
