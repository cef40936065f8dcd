"""A uv workspace (or uv project) without a committed ``uv.lock`` whose projects require
third-party packages: what those packages require is unknown, and uv resolves a requirement on
a workspace member's name to the member, so lanes fails safe (``unlocked-dependencies``) rather
than select too few lanes. Real git repositories, the real ``lanes`` process and the library.

The fixture is the case uv.lock exists for: ``app`` requires ``foo-plugin`` (a wheel in a
``find-links`` directory, so ``uv lock --offline`` can lock it), which requires the member
``foo-core``. ``LOCK`` is what uv 0.13.9 wrote for it; where uv is installed the test below
checks it against a lock uv writes now.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from lanes.discovery import python
from lanes.model import UNLOCKED_DEPENDENCIES, ManifestError
from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json, lanes
from tests.lanes.uv_cases import Wheel, project, wheel_bytes

UV = os.environ.get("LANES_TEST_UV") or shutil.which("uv")
ROOT = '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[tool.uv]\nfind-links = ["wheels"]\n'
WHEEL = "wheels/foo_plugin-1.0-py3-none-any.whl"
FILES = {
    "pyproject.toml": ROOT,
    "packages/app/pyproject.toml": project("app", 'dependencies = ["foo-plugin>=1"]\n'),
    "packages/core/pyproject.toml": project("foo-core"),
    "packages/other/pyproject.toml": project("other"),
}
REASON = f"{UNLOCKED_DEPENDENCIES}: packages/app/pyproject.toml:5"
EVERY_LANE = {"app", "foo-core", "other"}

LOCK = """\
version = 1
revision = 5
requires-python = ">=3.11"

[manifest]
members = [
    "app",
    "foo-core",
    "other",
]

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "packages/app" }
dependencies = [
    { name = "foo-plugin" },
]

[package.metadata]
requires-dist = [{ name = "foo-plugin", specifier = ">=1" }]

[[package]]
name = "foo-core"
version = "0.1.0"
source = { virtual = "packages/core" }

[[package]]
name = "foo-plugin"
version = "1.0"
source = { registry = "wheels" }
dependencies = [
    { name = "foo-core" },
]
wheels = [
    { path = "foo_plugin-1.0-py3-none-any.whl" },
]

[[package]]
name = "other"
version = "0.1.0"
source = { virtual = "packages/other" }
"""


def make_repo(tmp_path: Path, files: dict[str, str], *, plugin: bool = True) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, files)
    if plugin:
        (repo / "wheels").mkdir()
        (repo / WHEEL).write_bytes(wheel_bytes(Wheel("foo_plugin", ("foo-core",))))
    commit_all(repo, "initial")
    return repo


def changed(repo: Path, *paths: str) -> dict:
    return detect_json(repo, "--paths-from-stdin", stdin="".join(f"{p}\n" for p in paths).encode())


def discovered_errors(repo: Path) -> list[ManifestError]:
    return python.parse(repo, python.locate(repo)).errors


# --- (a) no uv.lock and a third-party requirement: fail-safe ----------------------------------


def test_without_a_lock_a_third_party_requirement_is_fail_safe(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    data = changed(repo, "packages/core/src/foo_core/x.py")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == [REASON]
    assert set(data["selected"]) == EVERY_LANE
    assert {"code": REASON} in data["reasons"]["app"]  # the lane the graph alone would miss
    text = lanes(repo, "detect", "--paths-from-stdin", stdin=b"packages/core/x.py\n")
    assert text.returncode == 0 and REASON in text.stdout


def test_the_reason_is_in_the_github_outputs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    output = tmp_path / "github_output"
    result = lanes(
        repo,
        "detect",
        "--format",
        "github",
        "--paths-from-stdin",
        stdin=b"packages/core/x.py\n",
        env={"GITHUB_OUTPUT": str(output)},
    )
    assert result.returncode == 0, result.stderr
    written = output.read_text()
    assert "fail-safe" in written and REASON in written
    assert "app<<" in written and "\ntrue\n" in written.split("app<<", 1)[1]


def test_explain_names_the_reason(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    text = lanes(repo, "explain", "packages/core/pyproject.toml")
    assert text.returncode == 0, text.stderr
    assert f"fail-safe: lanes detect selects every lane ({REASON})" in text.stdout
    report = lanes(repo, "explain", "--format", "json", "packages/core/pyproject.toml")
    assert report.returncode == 0, report.stderr
    assert '"failsafe": [\n      "' + REASON + '"' in report.stdout


def test_the_library_records_one_reason_per_root_with_its_directory(tmp_path: Path) -> None:
    """Two members with third-party requirements: one reason, at the first one (the root's
    own first, then by directory), naming the workspace root it is about."""
    files = {
        **FILES,
        "packages/other/pyproject.toml": project("other", 'dependencies = ["attrs"]\n'),
    }
    repo = make_repo(tmp_path, files)
    errors = discovered_errors(repo)
    assert [(e.code(), e.root) for e in errors] == [(REASON, "")]
    assert "'foo-plugin>=1' (required by 'app')" in errors[0].message
    assert "no uv.lock" in errors[0].message
    workspace = load_workspace(repo, use_cache=False)
    assert workspace.index.problems == [REASON]


@pytest.mark.parametrize(
    ("table", "body"),
    [
        ("optional-dependencies", '[project.optional-dependencies]\nx = ["foo-plugin"]\n'),
        ("dependency-groups", '[dependency-groups]\ntest = ["foo-plugin"]\n'),
        ("tool.uv.dev-dependencies", '[tool.uv]\ndev-dependencies = ["foo-plugin"]\n'),
    ],
)
def test_every_requirement_table_counts(tmp_path: Path, table: str, body: str) -> None:
    repo = make_repo(tmp_path, {**FILES, "packages/app/pyproject.toml": project("app", body)})
    assert [e.code() for e in discovered_errors(repo)] == [
        f"{UNLOCKED_DEPENDENCIES}: packages/app/pyproject.toml:6"
    ], table


@pytest.mark.parametrize(
    ("requirement", "source"),
    [
        (
            "foo-core",
            '[{ index = "x", marker = "sys_platform == \'win32\'" }, { workspace = true }]',
        ),
        ("tool", '{ git = "https://example.invalid/tool" }'),
        ("tool", '{ url = "https://example.invalid/tool-1.0.tar.gz" }'),
        ("tool", '{ path = "/nonexistent/outside/the/repository" }'),
    ],
)
def test_a_source_outside_the_repository_is_third_party(
    tmp_path: Path, requirement: str, source: str
) -> None:
    """A git, URL or index source (for some marker), like a registry package, installs
    something whose requirements no file in the repository states."""
    app = project(
        "app", f'dependencies = ["{requirement}"]\n[tool.uv.sources]\n{requirement} = {source}\n'
    )
    repo = make_repo(tmp_path, {**FILES, "packages/app/pyproject.toml": app})
    assert [e.code() for e in discovered_errors(repo)] == [REASON]


def test_a_subdirectory_workspace_is_its_own_root(tmp_path: Path) -> None:
    files = {f"py/{path}": text for path, text in FILES.items()}
    repo = make_repo(tmp_path, files, plugin=False)
    errors = discovered_errors(repo)
    assert [(e.code(), e.root) for e in errors] == [
        (f"{UNLOCKED_DEPENDENCIES}: py/packages/app/pyproject.toml:5", "py")
    ]
    assert "no py/uv.lock" in errors[0].message


def test_path_linked_uv_projects_without_a_lock(tmp_path: Path) -> None:
    """No workspace: ``app`` links ``core`` by a path source (a ``[tool.uv]`` table), so uv
    locks both at app, where a third-party requirement on ``foo-core`` lands on it."""
    files = {
        "app/pyproject.toml": project(
            "app",
            'dependencies = ["foo-core", "foo-plugin"]\n'
            '[tool.uv.sources]\nfoo-core = { path = "../core" }\n',
        ),
        "core/pyproject.toml": project("foo-core", 'dependencies = ["attrs"]\n'),
    }
    repo = make_repo(tmp_path, files, plugin=False)
    errors = discovered_errors(repo)
    assert [(e.code(), e.root) for e in errors] == [
        (f"{UNLOCKED_DEPENDENCIES}: app/pyproject.toml:5", "app")
    ]
    data = changed(repo, "core/x.py")
    assert data["mode"] == "fail-safe" and set(data["selected"]) == {"app", "foo-core"}


def test_two_roots_locking_one_project_each_name_it(tmp_path: Path) -> None:
    """``tool`` (a uv project of its own) links the member ``m``: both roots would lock m, so
    both are unlocked for its requirement; the index names it once, and a statement about one
    root does not silence the other."""
    files = {
        "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/m/pyproject.toml": project("m", 'dependencies = ["attrs"]\n'),
        "packages/n/pyproject.toml": project("n"),
        "tool/pyproject.toml": project(
            "tool", 'dependencies = ["m"]\n[tool.uv.sources]\nm = { path = "../packages/m" }\n'
        ),
    }
    repo = make_repo(tmp_path, files, plugin=False)
    code = f"{UNLOCKED_DEPENDENCIES}: packages/m/pyproject.toml:5"
    assert sorted((e.code(), e.root) for e in discovered_errors(repo)) == [
        (code, ""),
        (code, "tool"),
    ]
    assert load_workspace(repo, use_cache=False).index.problems == [code]
    statement = "version: 1\nthird_party_never_requires_local: [tool]\n"
    lanes_yml = statement + "lanes:\n" + "".join(f"  {n}:\n    roots: [{n}]\n" for n in "mn")
    write_files(repo, {"lanes.yml": lanes_yml})
    commit_all(repo, "a statement about tool only")
    assert changed(repo, "packages/n/x.py")["failsafe"] == [code]


# --- (b) a committed uv.lock: precise ---------------------------------------------------------


def test_committing_the_lock_removes_the_reason(tmp_path: Path) -> None:
    """The same repository, first without the lock (cached), then with the lock uv wrote: the
    lock records what foo-plugin requires, so app is selected and other is not."""
    repo = make_repo(tmp_path, FILES)
    assert changed(repo, "packages/core/x.py")["mode"] == "fail-safe"  # warms the cache
    write_files(repo, {"uv.lock": LOCK})
    commit_all(repo, "lock")
    data = changed(repo, "packages/core/x.py")
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"app", "foo-core"}
    chain = [step["component"] for step in data["reasons"]["app"][0]["chain"]]
    assert chain == ["app", "foo-core"]
    assert discovered_errors(repo) == []


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv, or set LANES_TEST_UV)")
def test_the_lock_is_what_uv_writes(tmp_path: Path) -> None:
    assert UV is not None
    repo = make_repo(tmp_path, FILES)
    env = {**os.environ, "UV_OFFLINE": "1", "XDG_CONFIG_HOME": str(repo / ".no-user-config")}
    subprocess.run([UV, "lock", "--offline", "-q"], cwd=repo, env=env, check=True)
    written = tomllib.loads((repo / "uv.lock").read_text(encoding="utf-8"))
    expected = tomllib.loads(LOCK)
    assert written["package"] == expected["package"]


# --- (c) nothing can route through an unknown package: no reason ------------------------------


@pytest.mark.parametrize(
    ("files", "path"),
    [
        pytest.param(
            {
                **FILES,
                "packages/app/pyproject.toml": project(
                    "app",
                    'dependencies = ["foo-core"]\n[tool.uv.sources]\n'
                    "foo-core = { workspace = true }\n",
                ),
            },
            "packages/core/x.py",
            id="only-members",
        ),
        pytest.param(
            {
                **FILES,
                "packages/app/pyproject.toml": project("app")
                + '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
            },
            "packages/core/x.py",
            id="only-build-requirements",
        ),
        pytest.param(
            {"pyproject.toml": project("solo", 'dependencies = ["foo-plugin"]\n[tool.uv]\n')},
            "src/solo/x.py",
            id="one-uv-project",
        ),
    ],
)
def test_no_reason_where_no_lock_could_add_an_edge(
    tmp_path: Path, files: dict[str, str], path: str
) -> None:
    repo = make_repo(tmp_path, files)
    assert discovered_errors(repo) == []
    data = changed(repo, path)
    assert data["mode"] == "precise", data["failsafe"]


# --- (d) a project no uv table manages: as before ---------------------------------------------


def test_a_plain_project_without_a_uv_table_is_not_asked_for_a_lock(tmp_path: Path) -> None:
    """pip, hatch or poetry install app with the core its file: reference names; a third-party
    requirement on foo-core lands on that core only because app installs it, an edge lanes
    has already. No lock to ask for: no reason."""
    files = {
        "app/pyproject.toml": project(
            "app", 'dependencies = ["foo-plugin", "foo-core @ file:../core"]\n'
        ),
        "core/pyproject.toml": project("foo-core", 'dependencies = ["attrs"]\n'),
    }
    repo = make_repo(tmp_path, files, plugin=False)
    assert discovered_errors(repo) == []
    data = changed(repo, "core/x.py")
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"app", "foo-core"}


# --- (e) --base: the base graph alike -----------------------------------------------------------


def test_a_lock_deleted_at_head(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**FILES, "uv.lock": LOCK})
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", "uv.lock")
    commit_all(repo, "drop the lock")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "fail-safe"
    assert REASON in data["failsafe"]
    assert not any(code.startswith("base-") for code in data["failsafe"])
    assert set(data["selected"]) == EVERY_LANE


def test_a_lock_missing_at_base(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"uv.lock": LOCK})
    commit_all(repo, "lock")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "fail-safe"
    assert f"base-{REASON}" in data["failsafe"]
    assert REASON not in data["failsafe"]
    assert set(data["selected"]) == EVERY_LANE
    explained = lanes(repo, "explain", "--base", base, "packages/core/x.py")
    assert f"base-{REASON}" in explained.stdout


def test_without_a_lock_on_either_side_a_source_change_names_it_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"packages/other/x.py": "x = 1\n"})
    commit_all(repo, "edit")
    data = detect_json(repo, "--base", base)
    assert data["failsafe"] == [REASON]  # no manifest changed: one graph
    write_files(repo, {"packages/other/pyproject.toml": project("other", "# edited\n")})
    commit_all(repo, "edit the manifest")
    data = detect_json(repo, "--base", base)
    assert REASON in data["failsafe"] and f"base-{REASON}" in data["failsafe"]


# --- (f) lanes check ----------------------------------------------------------------------------


def test_check_reports_it_as_a_failure(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    result = lanes(repo, "check")
    assert result.returncode == 1
    assert f"FAIL (none): {REASON}" in result.stdout
    write_files(repo, {"uv.lock": LOCK})
    commit_all(repo, "lock")
    locked = lanes(repo, "check", "--strict")
    assert locked.returncode == 0, locked.stdout + locked.stderr
    assert UNLOCKED_DEPENDENCIES not in locked.stdout + locked.stderr


# --- the explicit statement in lanes.yml ------------------------------------------------------

LANES_YML = """\
version: 1
third_party_never_requires_local: {roots}
lanes:
  app:
    roots: [app]
  core:
    roots: [foo-core]
  other:
    roots: [other]
"""


def test_stating_that_no_third_party_package_requires_local_projects(tmp_path: Path) -> None:
    """The user's statement replaces the lock: the manifests are the whole record, and the
    selection is what they give (here, on purpose, without app)."""
    repo = make_repo(tmp_path, {**FILES, "lanes.yml": LANES_YML.format(roots='["."]')})
    data = changed(repo, "packages/core/x.py")
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["core"]
    checked = lanes(repo, "check")
    assert UNLOCKED_DEPENDENCIES not in checked.stdout + checked.stderr


def test_the_statement_names_roots_not_the_repository(tmp_path: Path) -> None:
    files = {f"py/{path}": text for path, text in FILES.items()}
    elsewhere = make_repo(tmp_path, {**files, "lanes.yml": LANES_YML.format(roots='["."]')})
    assert changed(elsewhere, "py/packages/core/x.py")["failsafe"] == [
        f"{UNLOCKED_DEPENDENCIES}: py/packages/app/pyproject.toml:5"
    ]
    here = tmp_path / "here"
    here.mkdir()
    named = make_repo(here, {**files, "lanes.yml": LANES_YML.format(roots='["./py/"]')})
    assert changed(named, "py/packages/core/x.py")["mode"] == "precise"


def test_the_statement_holds_for_the_base_graph(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**FILES, "lanes.yml": LANES_YML.format(roots='["."]')})
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"packages/other/pyproject.toml": project("other", "# edited\n")})
    commit_all(repo, "edit the manifest")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["diff"]["graphs"] == "base and head"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('["/abs"]', "repository-relative directory"),
        ('["a/../b"]', "without '..'"),
        ('["packages/*"]', "not a glob"),
        ('[""]', "repository-relative directory"),
        ("true", "expected a list of strings"),
    ],
)
def test_the_statement_is_validated(tmp_path: Path, value: str, problem: str) -> None:
    repo = make_repo(tmp_path, {**FILES, "lanes.yml": LANES_YML.format(roots=value)})
    result = lanes(repo, "detect", "--paths-from-stdin", stdin=b"x\n")
    assert result.returncode == 2
    assert "lanes.yml:2:" in result.stderr and problem in result.stderr
