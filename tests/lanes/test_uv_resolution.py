"""Local packages uv installs for a project that no requirement of the project names directly,
judged against uv's own lock (the cases are in tests/lanes/uv_cases.py; their locks, written
by ``uv lock``, in tests/lanes/data/uv_cases.json):

* ``pkg[x]`` in pkg's own dependencies (x is always installed);
* a third-party package that requires a member by name, or a name the root's
  ``override-dependencies`` points at a directory;
* an override resolved with the root's ``[tool.uv.sources]`` over the member's own source;
* a path source naming a wheel in another project's directory (the wheel's file selects the
  projects that install it).

The oracle reads the lock independently of ``lanes.discovery.python``: a project's lane must
cover every local package the lock installs for it with all its extras and groups. Where uv is
installed (``uv`` on ``PATH`` or ``$LANES_TEST_UV``) the same comparison runs on locks it writes
afresh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.uv_cases import CASES, DATA, Case, project, uv_lock, write_case

LOCKS: dict[str, str] = json.loads(DATA.read_text(encoding="utf-8"))
UV = os.environ.get("LANES_TEST_UV") or shutil.which("uv")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _local(package: dict[str, Any]) -> bool:
    return any(key in package.get("source", {}) for key in ("editable", "virtual", "directory"))


def _requested(entries: object) -> Iterator[tuple[str, str | None]]:
    for entry in entries if isinstance(entries, list) else []:
        yield normalize(entry["name"]), None
        for extra in entry.get("extra", []):
            yield normalize(entry["name"]), normalize(extra)


def uv_installs(lock: dict[str, Any], root: str) -> set[str]:
    """Every package (local or not) the lock installs for ``root`` with all its extras and all
    its groups, following third-party packages too."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for package in lock["package"]:
        packages.setdefault(normalize(package["name"]), []).append(package)
    top = [p for p in packages[root] if _local(p)]
    wanted = [w for p in top for w in _requested(p.get("dependencies"))]
    for package in top:
        for section in ("optional-dependencies", "dev-dependencies"):
            for entries in package.get(section, {}).values():
                wanted += _requested(entries)
    seen: set[tuple[str, str | None]] = set()
    while wanted:
        name, extra = wanted.pop()
        if (name, extra) in seen or name not in packages:
            continue
        seen.add((name, extra))
        for package in packages[name]:
            if extra is None:
                wanted += _requested(package.get("dependencies"))
            else:
                wanted += _requested(package.get("optional-dependencies", {}).get(extra))
    return {name for name, _ in seen} - {root}


def make_repo(root: Path, case: Case, lock: str | None) -> Path:
    root.mkdir()
    git(root, "init", "-q")
    write_case(root, case, dynamic=lock is not None)
    if lock is not None:
        write_files(root, {"uv.lock": lock})
    commit_all(root, "case")
    return root


def under_selected(
    repo: Path,
    lock: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    problems: tuple[str, ...] = (),
) -> dict:
    """Per local package of the lock: what the lock installs and its lane does not cover (the
    graph's coverage: ``problems``, the index's reason codes, would make detect fail safe)."""
    monkeypatch.setenv("LANES_CACHE_DIR", str(repo / ".cache"))
    loaded = load_workspace(repo, use_cache=False)
    assert loaded.index.problems == list(problems)
    by_key = {normalize(name): name for name in loaded.index.kinds}
    local = {normalize(p["name"]) for p in lock["package"] if _local(p)}
    under: dict[str, set[str]] = {}
    for root in sorted(local):
        covered = {normalize(c) for c in loaded.index.coverage[by_key[root]]}
        missing = (uv_installs(lock, root) & local) - covered
        if missing:
            under[root] = missing
    return under


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_local_package_uv_installs_is_covered(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo", CASES[name], LOCKS[name])
    assert under_selected(repo, tomllib.loads(LOCKS[name]), monkeypatch) == {}


# What only a lock can say: which members and overridden names a third-party package requires.
LOCK_ONLY = {"third-party": {"app": {"plugin"}, "svc": {"plugin"}}}
# Without the lock, a case that requires a third-party package (a find-links wheel, a wheel in
# the repository) is fail-safe, at its first such requirement.
UNLOCKED = {
    "third-party": ("unlocked-dependencies: packages/app/pyproject.toml:6",),
    "archive": ("unlocked-dependencies: packages/app/pyproject.toml:5",),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_the_lock_the_manifests_suffice_or_detect_fails_safe(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a uv.lock: the same coverage where every requirement lands on a project (an
    override naming a directory is then taken to be required by every project). A third-party
    package's own requirements no manifest in the repository states, so there the graph alone
    misses what ``LOCK_ONLY`` says, and the index records ``unlocked-dependencies``."""
    repo = make_repo(tmp_path / "repo", CASES[name], None)
    lock = tomllib.loads(LOCKS[name])
    problems = UNLOCKED.get(name, ())
    assert under_selected(repo, lock, monkeypatch, problems) == LOCK_ONLY.get(name, {})


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_lock_uv_wrote_is_not_reported_stale(name: str, tmp_path: Path) -> None:
    """Edges through a self-reference, a third-party package or an override are what uv records,
    not drift: ``lanes check`` has nothing to say about the lock."""
    repo = make_repo(tmp_path / "repo", CASES[name], LOCKS[name])
    result = lanes(repo, "check", "--no-cache")
    assert "uv.lock" not in result.stdout + result.stderr


def test_a_self_reference_in_dependencies_holds_with_extras_none(tmp_path: Path) -> None:
    """``lib[x]`` in lib's dependencies installs x (and the y x asks for) whatever the lane's
    ``extras`` say: uv installs them with lib itself."""
    repo = make_repo(tmp_path / "repo", CASES["self-extra"], None)
    lanes_yml = "version: 1\nlanes:\n" + "".join(
        f"  {name}:\n    roots: [{name}]\n    extras: none\n" for name in ("app", "lib", "util")
    )
    write_files(repo, {"lanes.yml": lanes_yml})
    commit_all(repo, "lanes without extras")
    data = detect_json(repo, "--paths-from-stdin", stdin=b"packages/util/x.py\n")
    assert set(data["selected"]) == {"app", "lib", "util"}
    explained = lanes(repo, "explain", "packages/util/x.py").stdout
    assert "via lib/x > y" in explained


def test_a_wheel_selects_the_projects_installing_it(tmp_path: Path) -> None:
    """The wheel lies in lib's directory; app (by its path source) and gen (dynamic: by its lock
    entry) install it, so a change to it selects them too."""
    case = CASES["archive"]
    repo = make_repo(tmp_path / "repo", case, LOCKS["archive"])
    manifest = (repo / "packages/gen/pyproject.toml").read_text()
    assert 'dynamic = ["dependencies"]' in manifest  # the lock is gen's only record of the wheel
    wheel = next(iter(case.wheels))
    data = detect_json(repo, "--paths-from-stdin", stdin=f"{wheel}\n".encode())
    assert set(data["selected"]) == {"lib", "app", "gen"}
    assert data["mode"] == "precise"
    explained = lanes(repo, "explain", wheel)
    assert "reads packages/lib/dist/vend-1.0-py3-none-any.whl" in explained.stdout


def test_two_local_packages_of_one_name_are_fail_safe(tmp_path: Path) -> None:
    """Per-marker (or per-extra) sources may point one name at two directories (uv locks both);
    lanes cannot give two components one name: every lane, with the reason, not a crash."""
    files = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/app/pyproject.toml": project(
            "app",
            'dependencies = ["plat"]\n[tool.uv.sources]\nplat = [\n'
            '  { path = "../../ext/linux", marker = "sys_platform == \'linux\'" },\n'
            '  { path = "../../ext/other", marker = "sys_platform != \'linux\'" },\n]\n',
        ),
        "packages/lib/pyproject.toml": project("lib"),
        "ext/linux/pyproject.toml": project("plat"),
        "ext/other/pyproject.toml": project("plat"),
        "uv.lock": LOCK_TWO_OF_ONE_NAME,
    }
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, files)
    commit_all(repo, "two of one name")
    data = detect_json(repo, "--paths-from-stdin", stdin=b"packages/lib/x.py\n")
    assert data["mode"] == "fail-safe"
    assert set(data["selected"]) == {"app", "lib", "plat"}
    codes = {r["code"] for reasons in data["reasons"].values() for r in reasons}
    assert "manifest-error: ext/other/pyproject.toml:2" in codes


def test_a_file_url_naming_localhost(tmp_path: Path) -> None:
    """``file://localhost/abs`` is ``file:///abs`` (RFC 8089), in a requirement and in the
    root's ``constraint-dependencies`` (uv installs a constrained name from there)."""
    repo = make_repo(tmp_path / "repo", localhost_case(tmp_path / "repo"), None)
    for changed, owner in (("ext/a/x.py", "aa"), ("ext/c/x.py", "cc")):
        data = detect_json(repo, "--paths-from-stdin", stdin=f"{changed}\n".encode())
        assert data["mode"] == "precise", data["reasons"]
        assert set(data["selected"]) == {owner, "app"}


def localhost_case(root: Path) -> Case:
    return Case(
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n[tool.uv]\n'
            f'constraint-dependencies = ["cc @ file://localhost{root}/ext/c"]\n',
            "packages/app/pyproject.toml": project(
                "app", f'dependencies = ["aa @ file://localhost{root}/ext/a", "cc"]\n'
            ),
            "ext/a/pyproject.toml": project("aa"),
            "ext/c/pyproject.toml": project("cc"),
        }
    )


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv, or set LANES_TEST_UV)")
@pytest.mark.parametrize("name", [*sorted(CASES), "localhost"])
def test_against_a_lock_uv_writes_now(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert UV is not None
    root = tmp_path / "repo"
    case = localhost_case(root) if name == "localhost" else CASES[name]
    repo = make_repo(root, case, None)
    lock = uv_lock(repo, UV)
    commit_all(repo, "locked by uv")
    if name in LOCKS:  # uv itself agrees with the committed lock's packages and edges
        assert _shape(tomllib.loads(lock)) == _shape(tomllib.loads(LOCKS[name]))
    assert under_selected(repo, tomllib.loads(lock), monkeypatch) == {}


def _shape(lock: dict[str, Any]) -> dict[str, list[str]]:
    return {
        p["name"]: sorted(d["name"] for d in p.get("dependencies", [])) for p in lock["package"]
    }


LOCK_TWO_OF_ONE_NAME = """\
version = 1
revision = 5
requires-python = ">=3.11"

[manifest]
members = [
    "app",
    "lib",
]

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "packages/app" }
dependencies = [
    { name = "plat", version = "0.1.0", source = { directory = "ext/linux" }, \
marker = "sys_platform == 'linux'" },
    { name = "plat", version = "0.1.0", source = { directory = "ext/other" }, \
marker = "sys_platform != 'linux'" },
]

[[package]]
name = "lib"
version = "0.1.0"
source = { virtual = "packages/lib" }

[[package]]
name = "plat"
version = "0.1.0"
source = { directory = "ext/linux" }

[[package]]
name = "plat"
version = "0.1.0"
source = { directory = "ext/other" }
"""
