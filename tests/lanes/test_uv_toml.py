"""``uv.toml``: uv reads the one beside a workspace root's (or standalone project's)
``pyproject.toml`` as that workspace's configuration (uv 0.13.9: ``Found workspace configuration
at .../uv.toml``; one in a member's directory or above the root is not read). lanes treats it
like the root manifest (a change selects every lane), follows what of it installs files of the
repository (``find-links`` and flat indexes in the repository, as the lock records them), counts
a project beside one as uv-managed, and fails safe on a uv.toml uv would refuse.

What uv does with it was checked with real uv; where uv is installed the tests marked
``needs_uv`` check it again (the lock of the ``uv-toml`` case is in
``tests/lanes/data/uv_stale.json``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from lanes.discovery import python
from lanes.model import UNLOCKED_DEPENDENCIES
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json
from tests.lanes.test_uv_stale import LOCKS
from tests.lanes.uv_cases import project
from tests.lanes.uv_stale_cases import CASES, write_case

UV = os.environ.get("LANES_TEST_UV") or shutil.which("uv")
needs_uv = pytest.mark.skipif(
    UV is None, reason="uv is not installed (pip install uv, or set LANES_TEST_UV)"
)
LANES_YML = "version: 1\nunmatched: none\nlanes:\n" + "".join(
    f"  {name}:\n    roots: [{name}]\n" for name in ("app", "lib", "other")
)
SIMPLE = "wheels/simple-1.0-py3-none-any.whl"


def repo_of(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """The ``uv-toml`` case with the lock uv wrote for it, and a lanes.yml that selects nothing
    for an unmatched path (so a path nothing follows shows as no lane)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_case(repo, CASES["uv-toml"], dynamic=False)
    write_files(repo, {"uv.lock": LOCKS["uv-toml"], "lanes.yml": LANES_YML, **(files or {})})
    commit_all(repo, "initial")
    return repo


def changed(repo: Path, *paths: str) -> dict:
    return detect_json(repo, "--paths-from-stdin", stdin="".join(f"{p}\n" for p in paths).encode())


def codes(repo: Path) -> list[str]:
    return [e.code() for e in python.parse(repo, python.locate(repo)).errors]


def test_a_change_to_the_root_uv_toml_selects_every_lane(tmp_path: Path) -> None:
    repo = repo_of(tmp_path)
    assert codes(repo) == []
    data = changed(repo, "uv.toml")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"app", "lib", "other"}
    assert {r["code"] for r in data["reasons"]["other"]} == {"global"}


def test_the_uv_toml_of_a_subdirectory_workspace(tmp_path: Path) -> None:
    """A workspace root project below the top owns only its own sources: its uv.toml is no
    file of it, and is the workspace's configuration."""
    files = {
        "py/pyproject.toml": project("app")
        + '[tool.uv.workspace]\nmembers = ["packages/*"]\n'
        + "[tool.uv.sources]\nlib = { workspace = true }\n",
        "py/packages/lib/pyproject.toml": project("lib"),
        "py/uv.toml": "native-tls = true\n",
        "lanes.yml": "version: 1\nunmatched: none\nlanes:\n  lib:\n    roots: [lib]\n",
    }
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, files)
    commit_all(repo, "initial")
    assert "py/uv.toml" in python.locate(repo)
    assert changed(repo, "py/uv.toml")["selected"] == ["lib"]


def test_a_wheel_in_a_find_links_directory_selects_who_installs_it(tmp_path: Path) -> None:
    """``find-links = ["wheels"]`` (in uv.toml): the lock installs simple from the repository's
    ``wheels/`` for lib (directly) and for app (through host's wheel), not for other."""
    repo = repo_of(tmp_path)
    data = changed(repo, SIMPLE)
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"app", "lib"}
    assert set(changed(repo, "wheels/host-1.0-py3-none-any.whl")["selected"]) == {"app"}
    assert changed(repo, "wheels/attrs_x-1.0-py3-none-any.whl")["selected"] == ["other"]


def test_a_project_beside_a_uv_toml_is_uv_managed(tmp_path: Path) -> None:
    """No ``[tool.uv]`` table, but a uv.toml: a uv project, whose lock is asked for."""
    files = {
        "app/pyproject.toml": project(
            "app", 'dependencies = ["foo-plugin", "foo-core @ file:../core"]\n'
        ),
        "app/uv.toml": 'find-links = ["../wheels"]\n',
        "core/pyproject.toml": project("foo-core"),
    }
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, files)
    commit_all(repo, "initial")
    assert codes(repo) == [f"{UNLOCKED_DEPENDENCIES}: app/pyproject.toml:5"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[sources]\nlib = { path = "packages/lib" }\n', 1),
        ('find-links = ["wheels"]\ndev-dependencies = ["x"]\n', 2),
        ("workspace = { members = [] }\n", 1),
        ("find-links = [\n", 1),
    ],
)
def test_a_uv_toml_uv_refuses_is_a_manifest_error(tmp_path: Path, text: str, line: int) -> None:
    repo = repo_of(tmp_path, {"uv.toml": text})
    assert codes(repo) == [f"manifest-error: uv.toml:{line}"]
    assert changed(repo, "packages/other/x.py")["mode"] == "fail-safe"


@needs_uv
@pytest.mark.parametrize("text", ["[sources]\nx = { path = 'x' }\n", "workspace = {}\n"])
def test_uv_refuses_them_too(tmp_path: Path, text: str) -> None:
    repo = repo_of(tmp_path, {"uv.toml": text})
    result = uv(repo, "lock", "--offline")
    assert result.returncode != 0
    assert "not allowed in a `uv.toml` file" in result.stderr


def uv(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert UV is not None
    env = {**os.environ, "UV_OFFLINE": "1", "XDG_CONFIG_HOME": str(repo / ".no-user-config")}
    return subprocess.run(
        [UV, *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


@needs_uv
def test_the_lock_is_what_uv_writes_from_the_uv_toml(tmp_path: Path) -> None:
    repo = repo_of(tmp_path)
    assert uv(repo, "lock", "--locked", "--offline").returncode == 0
    (repo / "uv.lock").unlink()
    assert uv(repo, "lock", "--offline").returncode == 0
    written = tomllib.loads((repo / "uv.lock").read_text(encoding="utf-8"))
    assert written == tomllib.loads(LOCKS["uv-toml"])


@needs_uv
def test_uv_lock_does_not_apply_overrides_from_a_uv_toml(tmp_path: Path) -> None:
    """Why lanes does not follow them: ``override-dependencies`` and
    ``constraint-dependencies`` in a uv.toml are accepted, and not applied by ``uv lock``
    (the same entries in ``[tool.uv]`` are); they are a global input like the rest of it."""
    for key in ("override-dependencies", "constraint-dependencies"):
        root = tmp_path / key
        root.mkdir()
        repo = repo_of(root, {"vendor/simple/pyproject.toml": project("simple")})
        entry = f'"simple @ file://{repo}/vendor/simple"'
        write_files(repo, {"uv.toml": f'find-links = ["wheels"]\n{key} = [{entry}]\n'})
        (repo / "uv.lock").unlink()
        result = uv(repo, "lock", "--offline")
        assert result.returncode == 0, result.stderr
        lock = tomllib.loads((repo / "uv.lock").read_text(encoding="utf-8"))
        assert "overrides" not in lock["manifest"] and "constraints" not in lock["manifest"]
        simple = next(p for p in lock["package"] if p["name"] == "simple")
        assert simple["source"] == {"registry": "wheels"}, key
        assert python.parse(repo, python.locate(repo)).errors == []
