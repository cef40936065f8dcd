"""A committed ``uv.lock`` that predates what the projects now state (a third-party requirement
it does not record, a project it does not list, an override it does not record) is as good as no
lock for what third-party packages require: ``lanes detect`` fails safe (``stale-lockfile``),
under the same conditions and with the same opt-out (``third_party_never_requires_local``) as
``unlocked-dependencies``. A fresh lock stays precise.

The locks are what uv 0.13.9 wrote (``tests/lanes/data/uv_stale.json``, see
``tests/lanes/uv_stale_cases.py``); where uv is installed, the tests below check that uv writes
them still and that uv itself finds each edited lock stale (``uv lock --locked`` fails) and each
unedited one fresh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from lanes.discovery import python
from lanes.model import STALE_LOCKFILE
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.uv_cases import project
from tests.lanes.uv_stale_cases import CASES, DATA, Case, lock, write_case

UV = os.environ.get("LANES_TEST_UV") or shutil.which("uv")
LOCKS: dict[str, str] = json.loads(DATA.read_text(encoding="utf-8"))
APP = "packages/app/pyproject.toml"


def make_repo(tmp_path: Path, name: str, *, dynamic: bool = True) -> Path:
    case = CASES[name]
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_case(repo, case, dynamic=dynamic)
    (repo / case.lock_dir / "uv.lock").write_text(LOCKS[name], encoding="utf-8")
    commit_all(repo, "initial")
    return repo


def edit(repo: Path, path: str, old: str, new: str) -> None:
    text = (repo / path).read_text(encoding="utf-8")
    assert old in text, (path, old)
    write_files(repo, {path: text.replace(old, new, 1)})
    commit_all(repo, f"edit {path}")


def changed(repo: Path, *paths: str) -> dict:
    return detect_json(repo, "--paths-from-stdin", stdin="".join(f"{p}\n" for p in paths).encode())


def codes(repo: Path) -> list[str]:
    return [e.code() for e in python.parse(repo, python.locate(repo)).errors]


# (path, old, new, the reason's line) of edits that make the workspace's lock stale
STALE = {
    "new-dependency": (APP, '"gen"]', '"gen", "new-plugin"]', 5),
    "new-extra-requirement": (APP, 'x = ["attrs', 'x = ["tool-y", "attrs', 7),
    "moved-from-group-to-extra": (
        APP,
        "x = [\"attrs-x; python_version >= '3.11'\"]",
        'x = ["tool-y"]',
        7,
    ),
    "new-group-requirement": (APP, 'lint = ["attrs-x"]', 'lint = ["attrs-x", "new-plugin"]', 10),
    "new-group": (APP, 'lint = ["attrs-x"]', 'lint = ["attrs-x"]\ndocs = ["new-plugin"]', 11),
    "uv-dev-dependencies": (APP, '= ["win-z"]', '= ["new-plugin"]', 12),
    "new-requirement-extra": (APP, "Foo_Plugin[CLI]", "Foo_Plugin[CLI,gui]", 5),
    "marker-extra": (APP, '"gen"]', '"gen", "tool-y; extra == \'x\'"]', 5),
    "other-member": (
        "packages/other/pyproject.toml",
        'requires-python = ">=3.11"\n',
        'requires-python = ">=3.11"\ndependencies = ["new-plugin"]\n',
        5,
    ),
}


@pytest.mark.parametrize("name", sorted(STALE))
def test_a_requirement_the_lock_does_not_record_is_fail_safe(tmp_path: Path, name: str) -> None:
    path, old, new, line = STALE[name]
    repo = make_repo(tmp_path, "workspace")
    assert changed(repo, "packages/other/x.py")["mode"] == "precise"  # warms the cache
    edit(repo, path, old, new)
    reason = f"{STALE_LOCKFILE}: {path}:{line}"
    assert codes(repo) == [reason]
    data = changed(repo, "packages/other/x.py")
    assert data["mode"] == "fail-safe" and data["failsafe"] == [reason]
    assert set(data["selected"]) == {"app", "foo-core", "gen", "other", "vendo"}


# edits uv's lock does not see as a change of what it records: the lock stays fresh
FRESH = {
    "respelled": (APP, "Foo_Plugin[CLI]>=1", "foo.plugin[cli] >= 1"),
    "dropped": (APP, '"Foo_Plugin[CLI]>=1", ', ""),  # a lock recording more is no less
    "comment": (APP, "[dependency-groups]", "# groups\n[dependency-groups]"),
}


@pytest.mark.parametrize("name", ["unedited", *sorted(FRESH)])
def test_a_fresh_lock_stays_precise(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path, "workspace")
    if name in FRESH:
        edit(repo, *FRESH[name])
    assert codes(repo) == []
    data = changed(repo, "packages/core/x.py")
    assert data["mode"] == "precise", data["failsafe"]
    # app through foo-plugin, which the lock records (dropped: the lock is followed still)
    assert set(data["selected"]) == {"app", "foo-core"}
    assert changed(repo, "packages/gen/x.py")["mode"] == "precise"  # dynamic, locked


def test_a_project_the_lock_does_not_list(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "workspace")
    write_files(repo, {"packages/new/pyproject.toml": project("new")})
    commit_all(repo, "a new member")
    reason = f"{STALE_LOCKFILE}: packages/new/pyproject.toml:2"
    assert codes(repo) == [reason]
    assert changed(repo, "packages/other/x.py")["failsafe"] == [reason]
    message = next(e.message for e in python.parse(repo, python.locate(repo)).errors)
    assert "uv.lock is stale: it does not list 'new' (packages/new)" in message
    assert "run uv lock" in message


@pytest.mark.parametrize("name", ["attrs-x", "more"])
def test_an_override_the_lock_does_not_record(tmp_path: Path, name: str) -> None:
    """An override pointing a locked package (attrs-x, from the registry) at a local project
    is stale; one of a name nothing locked requires changes nothing locked, and uv finds the
    lock fresh (a requirement on it added later is stale by itself)."""
    repo = make_repo(tmp_path, "workspace", dynamic=False)
    write_files(repo, {"vendor/more/pyproject.toml": project(name)})
    edit(
        repo,
        "pyproject.toml",
        'override-dependencies = ["vendo',
        f'override-dependencies = ["{name} @ file:///${{PROJECT_ROOT}}/vendor/more", "vendo',
    )
    stale = name == "attrs-x"
    assert codes(repo) == ([f"{STALE_LOCKFILE}: pyproject.toml:6"] if stale else [])
    if UV is not None:  # uv agrees
        assert uv_locked(repo, CASES["workspace"]) is not stale


def test_a_subdirectory_workspace_and_a_linked_project_outside_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "subdirectory")
    assert codes(repo) == []
    data = changed(repo, "py/packages/core/x.py")
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"foo-core"}  # ext[y] is not installed by app
    edit(repo, "ext/pyproject.toml", 'y = ["foo-plugin"]', 'y = ["foo-plugin", "new-plugin"]')
    assert codes(repo) == [f"{STALE_LOCKFILE}: ext/pyproject.toml:7"]
    errors = python.parse(repo, python.locate(repo)).errors
    assert [(e.root, e.message.split(":")[0]) for e in errors] == [("py", "py/uv.lock is stale")]


def test_the_statement_covers_a_stale_lock(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "workspace")
    path, old, new, _ = STALE["new-dependency"]
    edit(repo, path, old, new)
    statement = (
        "version: 1\nthird_party_never_requires_local: {roots}\n"
        "lanes:\n  other:\n    roots: [other]\n"
    )
    write_files(repo, {"lanes.yml": statement.format(roots="[py]")})
    commit_all(repo, "a statement about another root")
    assert changed(repo, "packages/other/x.py")["mode"] == "fail-safe"
    write_files(repo, {"lanes.yml": statement.format(roots='["."]')})
    commit_all(repo, "a statement about this root")
    data = changed(repo, "packages/other/x.py")
    assert data["mode"] == "precise", data["failsafe"]


def test_check_reports_it_as_a_failure(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "workspace")
    edit(repo, *STALE["new-dependency"][:3])
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert f"FAIL (none): {STALE_LOCKFILE}: {APP}:5" in result.stdout


def test_one_project_cannot_be_reached_through_a_third_party_package(tmp_path: Path) -> None:
    """As without a lock: a lone project's new third-party requirement changes no lane."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(
        repo,
        {
            "pyproject.toml": project("solo", "[tool.uv]\n"),
            "uv.lock": 'version = 1\nrevision = 5\nrequires-python = ">=3.11"\n\n'
            '[[package]]\nname = "solo"\nversion = "0.1.0"\nsource = { virtual = "." }\n',
        },
    )
    commit_all(repo, "initial")
    edit(repo, "pyproject.toml", "[tool.uv]", 'dependencies = ["attrs"]\n[tool.uv]')
    assert codes(repo) == []


# --- against uv itself ------------------------------------------------------------------------

needs_uv = pytest.mark.skipif(
    UV is None, reason="uv is not installed (pip install uv, or set LANES_TEST_UV)"
)


def uv_locked(root: Path, case: Case) -> bool:
    """Whether uv finds the lock of ``case`` in ``root`` fresh (``uv lock --locked``)."""
    assert UV is not None
    env = {**os.environ, "UV_OFFLINE": "1", "XDG_CONFIG_HOME": str(root / ".no-user-config")}
    result = subprocess.run(
        [UV, "lock", "--locked", "--offline", "-q"],
        cwd=root / case.lock_dir,
        env=env,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


@needs_uv
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_locks_are_what_uv_writes(name: str) -> None:
    assert UV is not None
    written = tomllib.loads(lock(CASES[name], UV))
    assert written == tomllib.loads(LOCKS[name])


@needs_uv
@pytest.mark.parametrize("name", sorted(STALE))
def test_uv_finds_each_edited_lock_stale(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path, "workspace", dynamic=False)
    assert uv_locked(repo, CASES["workspace"])
    path, old, new, _ = STALE[name]
    edit(repo, path, old, new)
    assert not uv_locked(repo, CASES["workspace"])


@needs_uv
@pytest.mark.parametrize("name", sorted(FRESH))
def test_uv_finds_the_lock_fresh_where_lanes_does(tmp_path: Path, name: str) -> None:
    """Not every such edit: a dropped requirement makes uv re-lock (lanes needs only what the
    lock records to be at least what the manifests state)."""
    repo = make_repo(tmp_path, "workspace", dynamic=False)
    edit(repo, *FRESH[name])
    assert uv_locked(repo, CASES["workspace"]) == (name != "dropped")
