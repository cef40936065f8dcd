"""End to end on small uv repositories (real git repositories, the real ``lanes`` process): extras,
dependency groups, dynamic dependencies read from ``uv.lock``, lockfile edges, projects anywhere
in the tree and what a workspace root owns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json, lanes


def pyproject(name: str, body: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n{body}'


def ws_sources(*names: str) -> str:
    return "[tool.uv.sources]\n" + "".join(f"{n} = {{ workspace = true }}\n" for n in names)


def repo_with(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, files)
    commit_all(repo, "initial")
    return repo


def selected(repo: Path, *paths: str) -> dict[str, Any]:
    return detect_json(repo, "--paths-from-stdin", stdin="".join(f"{p}\n" for p in paths).encode())


VIRTUAL_ROOT = '[tool.uv.workspace]\nmembers = ["packages/*"]\n'


# --- 1. extras and dependency groups ------------------------------------------------------------


def extras_repo(tmp_path: Path, lanes_yml: str | None = None) -> Path:
    files = {
        "pyproject.toml": VIRTUAL_ROOT,
        "packages/app/pyproject.toml": pyproject(
            "app",
            'dependencies = ["lib[codecs, OpenAI]"]\n'
            '[project.optional-dependencies]\nserver = ["srv"]\n'
            '[dependency-groups]\ntest = ["kit", {include-group = "lint"}]\nlint = ["linter"]\n'
            '[tool.uv]\ndev-dependencies = ["devtool"]\n'
            + ws_sources("lib", "srv", "kit", "linter", "devtool"),
        ),
        "packages/lib/pyproject.toml": pyproject(
            "lib",
            '[project.optional-dependencies]\ncodecs = ["codec"]\nopenai = ["oai"]\n'
            'plugins = ["plugin"]\n' + ws_sources("codec", "oai", "plugin"),
        ),
        "packages/user/pyproject.toml": pyproject(
            "user", 'dependencies = ["lib"]\n' + ws_sources("lib")
        ),
        **{
            f"packages/{name}/pyproject.toml": pyproject(name)
            for name in ("codec", "oai", "plugin", "srv", "kit", "linter", "devtool")
        },
    }
    if lanes_yml is not None:
        files["lanes.yml"] = lanes_yml
    return repo_with(tmp_path, files)


def test_extras_requested_on_a_requirement_are_edges(tmp_path: Path) -> None:
    repo = extras_repo(tmp_path)
    data = selected(repo, "packages/codec/src/codec/__init__.py")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"codec", "lib", "app"}  # not user: it asks for no extra
    oai = selected(repo, "packages/oai/x.py")
    assert set(oai["selected"]) == {"oai", "lib", "app"}  # `OpenAI` normalizes to `openai`
    plugin = selected(repo, "packages/plugin/x.py")
    assert set(plugin["selected"]) == {"plugin", "lib"}  # nobody requests lib[plugins]


def test_explain_names_the_extra_that_activated_the_edge(tmp_path: Path) -> None:
    repo = extras_repo(tmp_path)
    data = selected(repo, "packages/codec/x.py")
    chain = data["reasons"]["app"][0]["chain"]
    assert [step["component"] for step in chain] == ["app", "lib", "codec"]
    assert "lib/codecs" in chain[-1]["edge"]


LANES = """\
version: 1
lanes:
  app:
    roots: [app]
    run: python3 -m pytest
  bare:
    roots: [app]
    extras: none
    groups: none
    run: python3 -m pytest -k bare
  server-only:
    roots: [app]
    extras: [server]
    groups: [lint]
    run: python3 -m pytest -k server
"""


def test_a_lane_installs_its_roots_extras_and_groups_by_default(tmp_path: Path) -> None:
    repo = extras_repo(tmp_path, LANES)
    assert selected(repo, "packages/srv/x.py")["selected"] == ["app", "server-only"]
    assert selected(repo, "packages/kit/x.py")["selected"] == ["app"]
    # include-group: `test` includes `lint`; `groups: [lint]` installs only lint.
    assert selected(repo, "packages/linter/x.py")["selected"] == ["app", "server-only"]
    # [tool.uv] dev-dependencies are the group `dev`.
    assert selected(repo, "packages/devtool/x.py")["selected"] == ["app"]
    # Extras requested on the way are installed whatever the lane's own extras.
    assert selected(repo, "packages/codec/x.py")["selected"] == ["app", "bare", "server-only"]
    assert lanes(repo, "check").returncode == 0


def test_unknown_extra_of_a_lane_is_a_reason_code(tmp_path: Path) -> None:
    lanes_yml = "version: 1\nlanes:\n  app:\n    roots: [app]\n    extras: [nope]\n"
    repo = extras_repo(tmp_path, lanes_yml)
    data = selected(repo, "packages/srv/x.py")
    assert data["mode"] == "fail-safe"
    assert any("unknown-feature: nope" in code for code in data["failsafe"])


# --- 2. dynamic dependencies and uv.lock ---------------------------------------------------------

DYNAMIC = (
    pyproject("app", 'dynamic = ["dependencies", "optional-dependencies"]\n').replace(
        'version = "0.1.0"\n', ""
    )
    + '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
)

# A uv.lock as uv writes it (``uv lock`` on the same workspace with the dependencies static).
DYNAMIC_LOCK = """\
version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "core", "extra-dep"]

[[package]]
name = "app"
source = { editable = "packages/app" }
dependencies = [
    { name = "core" },
    { name = "requests" },
]

[package.optional-dependencies]
full = [
    { name = "extra-dep" },
]

[package.metadata]
requires-dist = [
    { name = "core", editable = "packages/core" },
    { name = "extra-dep", marker = "extra == 'full'", editable = "packages/extra-dep" },
    { name = "requests" },
]
provides-extras = ["full"]

[[package]]
name = "core"
version = "0.1.0"
source = { editable = "packages/core" }

[[package]]
name = "extra-dep"
version = "0.1.0"
source = { editable = "packages/extra-dep" }

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
"""


def dynamic_files(lock: str | None) -> dict[str, str]:
    files = {
        "pyproject.toml": VIRTUAL_ROOT,
        "packages/app/pyproject.toml": DYNAMIC,
        "packages/core/pyproject.toml": pyproject("core"),
        "packages/extra-dep/pyproject.toml": pyproject("extra-dep"),
    }
    if lock is not None:
        files["uv.lock"] = lock
    return files


def test_dynamic_dependencies_come_from_the_lock(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, dynamic_files(DYNAMIC_LOCK))
    data = selected(repo, "packages/core/src/core/db.py")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"core", "app"}
    extra = selected(repo, "packages/extra-dep/x.py")
    assert set(extra["selected"]) == {"extra-dep", "app"}  # app's own extra `full`


def test_dynamic_dependencies_without_a_lock_fail_safe(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, dynamic_files(None))
    data = selected(repo, "packages/core/x.py")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == ["dynamic-dependencies: packages/app/pyproject.toml:4"]
    assert set(data["selected"]) == {"core", "app", "extra-dep"}


def test_lock_edge_the_manifests_lack_is_added(tmp_path: Path) -> None:
    static = pyproject("app", "dependencies = []\n")
    files = {**dynamic_files(DYNAMIC_LOCK), "packages/app/pyproject.toml": static}
    repo = repo_with(tmp_path, files)
    data = selected(repo, "packages/core/x.py")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"core", "app"}
    graph = lanes(repo, "graph", "--format", "json")
    assert graph.returncode == 0, graph.stderr


def test_lockfile_and_workspace_root_are_global_inputs(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, dynamic_files(DYNAMIC_LOCK))
    for path in ("uv.lock", "pyproject.toml"):
        data = selected(repo, path)
        assert set(data["selected"]) == {"core", "app", "extra-dep"}
        assert data["reasons"]["core"][0]["code"] == "global"


def test_lock_package_whose_directory_is_absent_is_unresolved(tmp_path: Path) -> None:
    files = dynamic_files(DYNAMIC_LOCK)
    del files["packages/extra-dep/pyproject.toml"]
    files["packages/extra-dep/README.md"] = "sparse checkout\n"
    repo = repo_with(tmp_path, files)
    data = selected(repo, "packages/core/x.py")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == [
        "manifest-error: pyproject.toml:2",  # the member glob matches a directory without one
        "unresolved-dependency: uv.lock:35",  # the lock's package there
    ]


# --- 3. projects anywhere ------------------------------------------------------------------------


def linked_files() -> dict[str, str]:
    """No root workspace: projects linked by path sources, down, sideways and up."""
    return {
        "README.md": "# linked projects\n",
        "apps/web/pyproject.toml": pyproject(
            "web",
            'dependencies = ["shared", "util"]\n'
            '[tool.uv.sources]\nshared = { path = "../../libs/shared" }\n'
            'util = { path = "../../libs/shared/util", editable = true }\n',
        ),
        "libs/shared/pyproject.toml": pyproject("shared"),
        "libs/shared/util/pyproject.toml": pyproject("util"),
        "tools/deep/nested/cli/pyproject.toml": pyproject(
            "cli", 'dependencies = ["top"]\n[tool.uv.sources]\ntop = { path = "../../../../" }\n'
        ),
        "pyproject.toml": pyproject("top"),
        "top.py": "",
        "other/pyproject.toml": pyproject("other"),
    }


def without_root() -> dict[str, str]:
    files = linked_files()
    del files["pyproject.toml"], files["tools/deep/nested/cli/pyproject.toml"]
    return files


def test_linked_projects_without_a_root_workspace_detect_precisely(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, without_root())
    data = selected(repo, "libs/shared/util/src/util/x.py")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"util", "web"}
    assert set(selected(repo, "libs/shared/x.py")["selected"]) == {"shared", "web"}
    assert selected(repo, "other/x.py")["selected"] == ["other"]


def test_path_source_pointing_up_is_followed(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, linked_files())
    data = selected(repo, "top.py")  # the root project owns its module top.py
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"top", "cli"}


def test_workspace_below_the_repository_root(tmp_path: Path) -> None:
    files = {
        "python/pyproject.toml": pyproject("root-app", 'dependencies = ["a"]\n' + ws_sources("a"))
        + '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "python/packages/a/pyproject.toml": pyproject(
            "a", 'dependencies = ["b"]\n' + ws_sources("b")
        ),
        "python/packages/b/pyproject.toml": pyproject("b"),
        "python/src/root_app/__init__.py": "",
    }
    repo = repo_with(tmp_path, files)
    data = selected(repo, "python/packages/b/x.py")
    assert data["mode"] == "precise"
    assert set(data["selected"]) == {"a", "b", "root-app"}
    assert set(selected(repo, "python/src/root_app/__init__.py")["selected"]) == {"root-app"}
    root = selected(repo, "python/pyproject.toml")  # the workspace root manifest: global
    assert set(root["selected"]) == {"a", "b", "root-app"}


def test_path_source_landing_on_no_project_is_unresolved(tmp_path: Path) -> None:
    files = {
        "apps/web/pyproject.toml": pyproject(
            "web", 'dependencies = ["gone"]\n[tool.uv.sources]\ngone = { path = "../gone" }\n'
        ),
        "apps/gone/README.md": "moved away\n",
    }
    repo = repo_with(tmp_path, files)
    data = selected(repo, "apps/web/x.py")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == ["unresolved-dependency: apps/web/pyproject.toml:7"]


def test_new_project_with_a_warm_cache_is_seen(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, without_root())
    assert selected(repo, "libs/new/x.py")["mode"] == "fail-safe"  # unmatched
    write_files(repo, {"libs/new/pyproject.toml": pyproject("new")})
    commit_all(repo, "a new project")
    assert selected(repo, "libs/new/x.py")["selected"] == ["new"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("remove-member", "manifest-error: pyproject.toml:2"),
        ("new-member-dir", "manifest-error: pyproject.toml:2"),
        ("edit-lock", "unresolved-dependency: uv.lock:"),
    ],
)
def test_every_input_of_the_python_index_is_in_the_cache_key(
    tmp_path: Path, edit: str, expected: str
) -> None:
    repo = repo_with(tmp_path, dynamic_files(DYNAMIC_LOCK))
    assert selected(repo, "packages/core/x.py")["mode"] == "precise"  # warms the cache
    if edit == "remove-member":
        (repo / "packages/core/pyproject.toml").unlink()
    elif edit == "new-member-dir":
        write_files(repo, {"packages/fresh/README.md": "no manifest yet\n"})
    else:
        lock = DYNAMIC_LOCK.replace(
            '"packages/extra-dep" }\n\n[[package]]\nname = "requests"',
            '"packages/extra-dep" }\n\n[[package]]\nname = "ghost"\n'
            'source = { editable = "packages/ghost" }\n\n'
            '[[package]]\nname = "requests"',
        )
        assert lock != DYNAMIC_LOCK
        write_files(repo, {"uv.lock": lock})
    check = lanes(repo, "check")
    assert check.returncode != 0
    assert expected in check.stdout + check.stderr


# --- 4. what a workspace root owns ----------------------------------------------------------------


def rooted_files() -> dict[str, str]:
    return {
        "pyproject.toml": pyproject(
            "acme", 'dependencies = ["lib"]\nreadme = "README.rst"\n' + ws_sources("lib")
        )
        + '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
        "packages/lib/pyproject.toml": pyproject("lib"),
        "src/acme/__init__.py": "",
        "tests/test_acme.py": "",
        "README.rst": "acme\n",
        "Makefile": "all:\n",
        ".github/workflows/ci.yml": "on: push\n",
    }


def test_workspace_root_project_owns_its_sources_not_the_repository(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, rooted_files())
    for path in ("src/acme/__init__.py", "tests/test_acme.py", "README.rst"):
        data = selected(repo, path)
        assert (data["mode"], data["selected"]) == ("precise", ["acme"]), path
    ci = selected(repo, ".github/workflows/ci.yml")
    assert ci["reasons"]["lib"][0]["code"] == "global"
    make = selected(repo, "Makefile")
    assert make["mode"] == "fail-safe" and make["unmatched"] == ["Makefile"]
    assert set(make["selected"]) == {"acme", "lib"}


def test_virtual_workspace_root_owns_nothing(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": VIRTUAL_ROOT,
        "packages/lib/pyproject.toml": pyproject("lib"),
        "tools/script.py": "",
    }
    repo = repo_with(tmp_path, files)
    data = selected(repo, "tools/script.py")
    assert data["mode"] == "fail-safe" and data["unmatched"] == ["tools/script.py"]


def test_configured_excludes_keep_a_workspace_roots_narrow_ownership(tmp_path: Path) -> None:
    lanes_yml = (
        "version: 1\ncomponents:\n  acme:\n    exclude: ['tests/fixtures/**']\n"
        "lanes:\n  acme:\n    roots: [acme]\n    run: python3 -m pytest\n"
    )
    repo = repo_with(tmp_path, {**rooted_files(), "lanes.yml": lanes_yml})
    assert selected(repo, "tests/test_acme.py")["selected"] == ["acme"]
    assert selected(repo, "tests/fixtures/data.json")["mode"] == "fail-safe"  # excluded
    make = selected(repo, "Makefile")
    assert make["mode"] == "fail-safe" and make["unmatched"] == ["Makefile"]


# --- 5. one directory, two manifests; real duplicates ---------------------------------------------


def maturin_files() -> dict[str, str]:
    return {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*", "bindings/py"]\nresolver = "2"\n',
        "crates/core/Cargo.toml": '[package]\nname = "core"\nversion = "0.1.0"\n',
        "crates/core/src/lib.rs": "",
        "bindings/py/Cargo.toml": (
            '[package]\nname = "fast_lib"\nversion = "0.1.0"\n'
            '[lib]\ncrate-type = ["cdylib"]\n'
            '[dependencies]\ncore = { path = "../../crates/core" }\n'
        ),
        "bindings/py/pyproject.toml": pyproject(
            "fast-lib",
            '[project.optional-dependencies]\ncli = ["helper"]\n'
            '[tool.uv.sources]\nhelper = { path = "../../py/helper" }\n',
        )
        + '[build-system]\nrequires = ["maturin>=1.5"]\nbuild-backend = "maturin"\n',
        "bindings/py/src/lib.rs": "",
        "py/helper/pyproject.toml": pyproject("helper"),
        "py/app/pyproject.toml": pyproject(
            "app",
            'dependencies = ["fast-lib"]\n'
            '[tool.uv.sources]\nfast-lib = { path = "../../bindings/py" }\n',
        ),
    }


def test_maturin_project_beside_its_crate_is_one_component(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, maturin_files())
    data = selected(repo, "crates/core/src/lib.rs")
    assert data["mode"] == "precise", data["failsafe"]
    assert set(data["selected"]) == {"core", "fast_lib", "app"}
    # The Python manifest's extra counts for the crate's lane (default features) and its edges
    # are the merged component's.
    helper = selected(repo, "py/helper/x.py")
    assert set(helper["selected"]) == {"helper", "fast_lib"}
    assert selected(repo, "bindings/py/pyproject.toml")["selected"] == ["app", "fast_lib"]
    graph = lanes(repo, "graph", "--format", "json")
    assert graph.returncode == 0 and "duplicate-component" not in graph.stdout


def duplicate_files(lanes_yml: str | None = None) -> dict[str, str]:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
        "crates/shared/Cargo.toml": '[package]\nname = "shared"\nversion = "0.1.0"\n',
        "crates/app-rs/Cargo.toml": (
            '[package]\nname = "app-rs"\nversion = "0.1.0"\n'
            '[dependencies]\nshared = { path = "../shared" }\n'
        ),
        "py/shared/pyproject.toml": pyproject("shared"),
        "py/app/pyproject.toml": pyproject(
            "app", 'dependencies = ["shared"]\n[tool.uv.sources]\nshared = { path = "../shared" }\n'
        ),
    }
    if lanes_yml is not None:
        files["lanes.yml"] = lanes_yml
    return files


def test_same_name_in_two_ecosystems_gets_qualified_names(tmp_path: Path) -> None:
    repo = repo_with(tmp_path, duplicate_files())
    py = selected(repo, "py/shared/x.py")
    assert py["mode"] == "precise", py["failsafe"]
    assert set(py["selected"]) == {"python:shared", "app"}
    rs = selected(repo, "crates/shared/src/lib.rs")
    assert set(rs["selected"]) == {"cargo:shared", "app-rs"}


def test_lane_roots_name_qualified_components_and_bare_ambiguous_names_are_problems(
    tmp_path: Path,
) -> None:
    lanes_yml = (
        "version: 1\nlanes:\n"
        "  py:\n    roots: ['python:shared']\n    run: python3 -m pytest\n"
        "  both:\n    roots: [shared]\n    run: python3 -m pytest\n"
    )
    repo = repo_with(tmp_path, duplicate_files(lanes_yml))
    data = selected(repo, "py/shared/x.py")
    assert data["mode"] == "fail-safe"
    assert data["failsafe"] == [
        "ambiguous-component: shared (lane both; use one of cargo:shared, python:shared)"
    ]
    check = lanes(repo, "check")
    assert check.returncode == 1 and "ambiguous-component: shared" in check.stdout
    fixed = lanes_yml.replace("roots: [shared]", "roots: ['cargo:shared']")
    write_files(repo, {"lanes.yml": fixed})
    assert selected(repo, "py/shared/x.py")["selected"] == ["py"]
    assert selected(repo, "crates/shared/x.rs")["selected"] == ["both"]


def test_maturin_project_at_the_root_detects_precisely(tmp_path: Path) -> None:
    files = {
        "Cargo.toml": '[package]\nname = "my_ext"\nversion = "0.1.0"\n'
        '[lib]\ncrate-type = ["cdylib"]\n',
        "pyproject.toml": pyproject("my_ext")
        + '[build-system]\nrequires = ["maturin>=1.5"]\nbuild-backend = "maturin"\n',
        "src/lib.rs": "",
        "python/my_ext/__init__.py": "",
    }
    repo = repo_with(tmp_path, files)
    for path in ("src/lib.rs", "python/my_ext/__init__.py"):
        data = selected(repo, path)
        assert (data["mode"], data["selected"]) == ("precise", ["my_ext"]), data["failsafe"]


def test_root_project_with_projects_below_owns_its_sources_and_its_lock_is_global(
    tmp_path: Path,
) -> None:
    files = {**linked_files(), "uv.lock": "version = 1\n", "tools/run.sh": ""}
    repo = repo_with(tmp_path, files)
    lock = selected(repo, "uv.lock")
    assert lock["reasons"]["web"][0]["code"] == "global"
    assert set(lock["selected"]) == {"top", "cli", "web", "shared", "util", "other"}
    script = selected(repo, "tools/run.sh")
    assert script["mode"] == "fail-safe" and script["unmatched"] == ["tools/run.sh"]
