"""PEP 723 scripts (``# /// script`` blocks, run by ``uv run --script``): a script that installs
something from the repository is a component named after its path, owning its file and its
``<path>.lock``, with an edge to each local project its block names (``[tool.uv.sources]``
``path`` entries relative to its directory, absolute ``file://`` references, overrides and
constraints), so a change in what it installs selects the lanes rooted at it; the component
that owned the file before still reads it. Real git repositories and the real ``lanes`` process;
``uv lock --script`` where uv is installed checks the edges against what uv installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from lanes.discovery import _tree, python
from lanes.discovery._revision import RevisionTree
from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.uv_cases import Wheel, project, wheel_bytes

UV = os.environ.get("LANES_TEST_UV") or shutil.which("uv")
RELEASE = """\
#!/usr/bin/env python
# /// script
# requires-python = ">=3.11"
# dependencies = ["core", "requests>=2"]
#
# [tool.uv.sources]
# core = { path = "../packages/core", editable = true }
# ///
print("release")
"""
TOOL = """\
# /// script
# dependencies = ["core"]
# [tool.uv.sources]
# core = { path = "../../packages/core" }
# ///
"""
FILES = {
    "packages/core/pyproject.toml": project(
        "core", 'dependencies = ["util"]\n[tool.uv.sources]\nutil = { path = "../util" }\n'
    ),
    "packages/util/pyproject.toml": project("util"),
    "packages/app/pyproject.toml": project("app"),
    "packages/other/pyproject.toml": project("other"),
    "scripts/release.py": RELEASE,
    "scripts/plain.py": '# /// script\n# dependencies = ["requests"]\n# ///\n',
    "scripts/notes.py": "x = 1\n",
    "packages/app/tool.py": TOOL,
}
LANES_YML = """\
version: 1
unmatched: none
lanes:
  release:
    roots: [scripts/release.py]
  tool:
    roots: [packages/app/tool.py]
  app:
    roots: [app]
  util:
    roots: [util]
  other:
    roots: [other]
"""


def make_repo(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, {**FILES, "lanes.yml": LANES_YML, **(files or {})})
    commit_all(repo, "initial")
    return repo


def selected(repo: Path, *paths: str) -> set[str]:
    data = detect_json(repo, "--paths-from-stdin", stdin="".join(f"{p}\n" for p in paths).encode())
    assert data["mode"] == "precise", data["failsafe"]
    return set(data["selected"])


def codes(repo: Path) -> list[str]:
    return [e.code() for e in python.parse(repo, python.locate(repo)).errors]


def test_a_change_to_what_a_script_installs_selects_its_lanes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert codes(repo) == []
    assert selected(repo, "packages/util/src/util/x.py") == {"release", "tool", "util"}
    assert selected(repo, "packages/core/pyproject.toml") == {"release", "tool"}
    assert selected(repo, "packages/other/x.py") == {"other"}


def test_a_script_owns_its_file_and_its_lock(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert selected(repo, "scripts/release.py") == {"release"}
    assert selected(repo, "scripts/release.py.lock") == {"release"}


def test_the_previous_owner_still_selects_for_the_script(tmp_path: Path) -> None:
    """``packages/app/tool.py`` was app's file: a change to it still selects app, and the
    lanes rooted at the script."""
    repo = make_repo(tmp_path)
    assert selected(repo, "packages/app/tool.py") == {"app", "tool"}
    assert selected(repo, "packages/app/src/app/x.py") == {"app"}


def test_a_script_that_installs_nothing_local_is_a_file_like_any_other(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    index = load_workspace(repo, use_cache=False).index
    assert "scripts/release.py" in index.kinds
    assert "scripts/plain.py" not in index.kinds and "scripts/notes.py" not in index.kinds
    assert index.manifests["scripts/release.py"] == "scripts/release.py"


def test_the_listing_holds_scripts_only(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path, {"scripts/crlf.py": "# /// script\r\n# dependencies = []\r\n# ///\r\n"}
    )
    expected = ["packages/app/tool.py", "scripts/crlf.py", "scripts/plain.py", "scripts/release.py"]
    assert _tree.manifests(repo).scripts() == expected
    assert _tree._walk(str(repo)).scripts() == expected  # outside git: the bounded walk
    head = git(repo, "rev-parse", "HEAD").strip()
    assert RevisionTree(repo, head).manifests().scripts() == expected


@pytest.mark.parametrize(
    ("script", "code"),
    [
        pytest.param(
            '# /// script\n# dependencies = ["core"]\n# [tool.uv.sources]\n'
            '# core = { path = "../nowhere" }\n# ///\n',
            "unresolved-dependency: scripts/release.py:4",
            id="path-to-no-project",
        ),
        pytest.param(
            '# /// script\n# dependencies = ["core"]\n# [tool.uv.sources]\n'
            "# core = { workspace = true }\n# ///\n",
            "unresolved-dependency: scripts/release.py:4",
            id="workspace-source",
        ),
        pytest.param(
            '# /// script\n# dependencies = ["core @ file:///${PROJECT_ROOT}/packages/core"]\n'
            "# ///\n",
            "unresolved-dependency: scripts/release.py:2",
            id="project-root-is-the-working-directory",
        ),
        pytest.param(
            '# /// script\n# dependencies = ["core"\n# ///\n',
            "manifest-error: scripts/release.py:3",
            id="invalid-toml",
        ),
        pytest.param(
            '# /// script\n# dependencies = ["core"]\n#dependencies = []\n# ///\n',
            "manifest-error: scripts/release.py:1",
            id="unclosed",
        ),
        pytest.param(
            "# /// script\n# dependencies = []\n# ///\nx = 1\n# /// script\n# ///\n",
            "manifest-error: scripts/release.py:5",
            id="two-blocks",
        ),
    ],
)
def test_a_block_lanes_cannot_follow_is_fail_safe(tmp_path: Path, script: str, code: str) -> None:
    repo = make_repo(tmp_path, {"scripts/release.py": script})
    assert codes(repo) == [code]
    data = detect_json(repo, "--paths-from-stdin", stdin=b"packages/other/x.py\n")
    assert data["mode"] == "fail-safe" and code in data["failsafe"]


def test_absolute_file_urls_overrides_and_archives(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    script = (
        "# /// script\n"
        f'# dependencies = ["util @ file://{repo}/packages/util", "attrs", "vend"]\n'
        "# [tool.uv]\n"
        f'# override-dependencies = ["attrs @ file://{repo}/packages/other"]\n'
        '# find-links = ["../wheels"]\n'
        "# [tool.uv.sources]\n"
        '# vend = { path = "../dist/vend-1.0-py3-none-any.whl" }\n'
        "# ///\n"
    )
    lanes_yml = LANES_YML.replace("roots: [scripts/release.py]", "roots: [scripts/x.py]")
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, {**FILES, "scripts/x.py": script, "lanes.yml": lanes_yml})
    (repo / "dist").mkdir()
    (repo / "dist/vend-1.0-py3-none-any.whl").write_bytes(wheel_bytes(Wheel("vend")))
    (repo / "wheels").mkdir()
    (repo / "wheels/w-1.0-py3-none-any.whl").write_bytes(wheel_bytes(Wheel("w")))
    commit_all(repo, "initial")
    assert codes(repo) == []
    assert selected(repo, "packages/util/x.py") == {"release", "tool", "util"}
    assert selected(repo, "packages/other/x.py") == {"release", "other"}
    assert selected(repo, "dist/vend-1.0-py3-none-any.whl") == {"release"}
    assert selected(repo, "wheels/w-1.0-py3-none-any.whl") == {"release"}  # find-links


def test_an_explicit_component_for_the_script_keeps_its_file(tmp_path: Path) -> None:
    """What the documentation recommended before scripts were components: the configuration's
    component wins the file, and both see what the script installs."""
    config = LANES_YML + (
        "  rel:\n    roots: [rel]\n"
        "components:\n  rel:\n    paths: [scripts/release.py]\n    depends_on: [app]\n"
    )
    repo = make_repo(tmp_path, {"lanes.yml": config})
    index = load_workspace(repo, use_cache=False).index
    owner = index.owner("scripts/release.py")
    assert owner is not None and owner.component == "rel"
    assert selected(repo, "scripts/release.py") == {"rel", "release"}
    assert selected(repo, "packages/util/x.py") == {"release", "tool", "util"}


def test_the_cache_sees_a_script_change_and_a_new_script(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert selected(repo, "packages/other/x.py") == {"other"}  # warms the cache
    write_files(repo, {"packages/app/tool.py": TOOL.replace("core", "other")})
    commit_all(repo, "the tool installs other now")
    assert selected(repo, "packages/other/x.py") == {"other", "tool"}
    write_files(repo, {"scripts/notes.py": TOOL.replace("../../packages/core", "../packages/core")})
    config = LANES_YML + "  notes:\n    roots: [scripts/notes.py]\n"
    write_files(repo, {"lanes.yml": config})
    commit_all(repo, "notes is a script")
    assert selected(repo, "packages/util/x.py") == {"notes", "release", "util"}


def test_the_base_graph_holds_the_scripts_of_the_base(tmp_path: Path) -> None:
    """``--base`` with a manifest change: the base revision's scripts are found from git
    objects (a base graph without them would name no component ``release`` and fail safe)."""
    repo = make_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"packages/core/pyproject.toml": project("core")})
    commit_all(repo, "core no longer requires util")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["diff"]["graphs"] == "base and head"
    assert {"release", "tool"} <= set(data["selected"])


def test_lanes_check_accepts_a_script_as_a_lane_root(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = lanes(repo, "check")
    assert "unknown-component" not in result.stdout + result.stderr
    assert "expected a component name" not in result.stderr


# --- against uv itself ------------------------------------------------------------------------


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv, or set LANES_TEST_UV)")
@pytest.mark.parametrize("script", ["scripts/release.py", "packages/app/tool.py"])
def test_uv_installs_the_local_projects_lanes_follows(tmp_path: Path, script: str) -> None:
    """``uv lock --script`` (the lock ``uv run --script`` uses) records as local packages the
    projects the script's component reaches in lanes' graph, and no other."""
    assert UV is not None
    repo = make_repo(tmp_path)
    text = (repo / script).read_text(encoding="utf-8").replace(', "requests>=2"', "")
    write_files(repo, {script: text})  # offline: no registry package
    env = {**os.environ, "UV_OFFLINE": "1", "XDG_CONFIG_HOME": str(repo / ".no-user-config")}
    subprocess.run([UV, "lock", "--script", script, "-q"], cwd=repo, env=env, check=True)
    lock = tomllib.loads((repo / f"{script}.lock").read_text(encoding="utf-8"))
    base = os.path.dirname(script)
    locked = {
        os.path.normpath(os.path.join(base, next(iter(p["source"].values()))))
        for p in lock["package"]
        if {"editable", "directory"} & set(p["source"])
    }
    index = load_workspace(repo, use_cache=False).index
    reached = {c for c in index.coverage["release" if "release" in script else "tool"]}
    dirs = {d for d, c in index.directories.items() if c in reached}
    assert locked == dirs == {"packages/core", "packages/util"}
