"""``lanes detect --base`` against both revisions' graphs, on real git repositories.

A small Cargo workspace: ``app -> util -> core``, ``cli -> core``, ``tool`` alone; one lane per
top crate. Each test commits a change and runs the real ``lanes`` process.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.audit_helpers import lanes, lanes_json
from tests.lanes.fixtures import clone, commit_all, git, write_files
from tests.lanes.test_cli_npm import make_repo

ROOT = """\
[workspace]
resolver = "2"
members = ["app", "cli", "util", "core", "tool"]

[workspace.dependencies]
core = { path = "core" }
util = { path = "util" }
serde = { version = "1" }

[profile.release]
lto = "thin"
"""

LANES_YML = """\
version: 1
ignore: ["**/*.md", "lanes.yml"]
lanes:
  app:
    roots: [app]
  cli:
    roots: [cli]
  tool:
    roots: [tool]
"""


def _crate(name: str, deps: str = "") -> dict[str, str]:
    manifest = f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
    if deps:
        manifest += f"\n[dependencies]\n{deps}"
    return {f"{name}/Cargo.toml": manifest, f"{name}/src/lib.rs": f"//! {name}\n"}


def files() -> dict[str, str]:
    found = {"Cargo.toml": ROOT, "lanes.yml": LANES_YML}
    found |= _crate("app", "util.workspace = true\ncore.workspace = true\n")
    found |= _crate("cli", "core.workspace = true\n")
    found |= _crate("util", "core.workspace = true\n")
    found |= _crate("core")
    found |= _crate("tool", "serde = { workspace = true }\n")
    return found


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("graphs") / "ws", files())


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return clone(template, tmp_path / "repo")


def detect(repo: Path, *args: str) -> dict[str, Any]:
    """``lanes detect --base HEAD~1 --format json`` run as a real process."""
    data: dict[str, Any] = lanes_json(repo, "detect", "--base", "HEAD~1", *args)
    return data


def committed(repo: Path, *edits: tuple[str, str, str]) -> dict[str, Any]:
    """Each (path, old, new) replacement made and committed, then :func:`detect`."""
    for path, old, new in edits:
        edit(repo, path, old, new)
    commit_all(repo, "change")
    return detect(repo)


def reasons(data: dict[str, Any], lane: str, code: str) -> list[dict[str, Any]]:
    return [r for r in data["reasons"].get(lane, []) if r["code"] == code]


def edit(repo: Path, path: str, old: str, new: str) -> None:
    target = repo / path
    text = target.read_text()
    assert old in text, (path, old)
    target.write_text(text.replace(old, new))


def remove_util(repo: Path) -> dict[str, Any]:
    """util deleted with its manifest, its member and workspace entries and app's edge to it."""
    shutil.rmtree(repo / "util")
    return committed(
        repo,
        ("Cargo.toml", '"util", ', ""),
        ("Cargo.toml", 'util = { path = "util" }\n', ""),
        ("app/Cargo.toml", "util.workspace = true\n", ""),
    )


def test_deleting_a_component_selects_the_lanes_that_covered_it(repo: Path) -> None:
    data = remove_util(repo)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app"]
    assert data["unmatched"] == []
    deleted = [r for r in data["reasons"]["app"] if r.get("path") == "util/src/lib.rs"]
    assert deleted and deleted[0]["graph"] == "base" and deleted[0]["component"] == "util"
    assert data["diff"]["graphs"] == "base and head"


def test_renaming_a_component_resolves_both_sides(repo: Path) -> None:
    (repo / "libs").mkdir()
    git(repo, "mv", "util", "libs/util")
    data = committed(
        repo,
        ("Cargo.toml", '"util", ', '"libs/util", '),
        ("Cargo.toml", 'util = { path = "util" }', 'util = { path = "libs/util" }'),
        ("libs/util/Cargo.toml", "core.workspace = true", 'core = { path = "../../core" }'),
    )
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app"]
    by_path = {r["path"]: r for r in data["reasons"]["app"] if "path" in r}
    assert by_path["util/src/lib.rs"]["graph"] == "base"
    assert "graph" not in by_path["libs/util/src/lib.rs"]
    assert by_path["libs/util/src/lib.rs"]["component"] == "util"


def test_removing_an_edge_marks_the_manifest_change(repo: Path) -> None:
    data = committed(repo, ("app/Cargo.toml", "util.workspace = true\n", ""))
    assert data["mode"] == "precise"
    assert data["selected"] == ["app"]
    (found,) = reasons(data, "app", "manifest-change")
    assert found["detail"] == "app no longer depends on util (normal)"
    assert found["path"] == "app/Cargo.toml" and found["component"] == "app"


def test_an_internal_workspace_dependency_change_refines_the_root(repo: Path) -> None:
    # Only a path entry of [workspace.dependencies] changed: whoever depends on util is marked.
    entry = 'util = { path = "util" }\n'
    data = committed(repo, ("Cargo.toml", entry, entry.replace(" }", ', version = "0.1" }')))
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app"]
    (found,) = reasons(data, "app", "manifest-change")
    assert found["path"] == "Cargo.toml"
    assert found["detail"] == "[workspace.dependencies] util changed (app depends on it)"


@pytest.mark.parametrize(
    ("old", "new", "detail"),
    [
        ('lto = "thin"', 'lto = "fat"', "not refined: [profile.release.lto] changed"),
        (
            'version = "1" }',
            'version = "1.0.200" }',
            "not refined: [workspace.dependencies] serde changed and is not a path dependency",
        ),
        (
            "[profile.release]",
            '[workspace.lints.rust]\nunsafe_code = "forbid"\n\n[profile.release]',
            "not refined: [workspace.lints] changed",
        ),
    ],
    ids=["profile", "registry-dependency", "lints"],
)
def test_root_manifest_changes_not_attributable_stay_global(
    repo: Path, old: str, new: str, detail: str
) -> None:
    data = committed(repo, ("Cargo.toml", old, new))
    assert data["selected"] == ["app", "cli", "tool"]
    (found,) = reasons(data, "tool", "global")
    assert found["rule"] == "workspace input"
    assert found["detail"] == detail


def test_members_change_is_refined_unless_the_user_lists_the_root_in_global(repo: Path) -> None:
    write_files(repo, _crate("extra"))
    edit(repo, "Cargo.toml", '"tool"]', '"tool", "extra"]')
    commit_all(repo, "new member")
    refined = detect(repo)
    assert refined["mode"] == "precise"
    # No lane builds the new crate (git may report a similar manifest as its copy source).
    assert "tool" not in refined["selected"]
    assert not [r for found in refined["reasons"].values() for r in found if r["code"] == "global"]
    edit(repo, "lanes.yml", "ignore:", 'global: ["Cargo.toml"]\nignore:')
    listed = detect(repo, "--head", "HEAD")
    assert listed["selected"] == ["app", "cli", "tool"]
    (found,) = reasons(listed, "app", "global")
    assert found["rule"] == "Cargo.toml" and "detail" not in found


@pytest.mark.parametrize(
    ("path", "good", "broken", "code"),
    [
        ("tool/Cargo.toml", "[package]", "[package", "base-manifest-error: tool/Cargo.toml:"),
        ("lanes.yml", "lanes:", "lanes: [", "base-unloadable: "),
    ],
    ids=["manifest", "configuration"],
)
def test_a_base_that_does_not_load_is_fail_safe(
    repo: Path, path: str, good: str, broken: str, code: str
) -> None:
    edit(repo, path, good, broken)
    commit_all(repo, "break it at the base")
    data = committed(repo, (path, broken, good))
    assert data["mode"] == "fail-safe"
    assert data["selected"] == ["app", "cli", "tool"]
    assert any(found.startswith(code) for found in data["failsafe"]), data["failsafe"]


def test_a_source_only_change_does_not_load_the_base(repo: Path) -> None:
    (repo / "tool/src/lib.rs").write_text("//! changed\n")
    commit_all(repo, "source")
    data = detect(repo)
    assert data["selected"] == ["tool"]
    assert data["diff"]["graphs"] == "head"


def test_explain_with_a_base_shows_the_base_graph_and_the_marks(repo: Path) -> None:
    remove_util(repo)
    explained = ("util/src/lib.rs", "app/Cargo.toml", "Cargo.toml")
    deleted, manifest, root = lanes_json(repo, "explain", "--base", "HEAD~1", *explained)
    assert deleted["graphs"] == "base and head"
    assert deleted["selects"]["app"]["graph"] == "base"
    assert manifest["selects"]["app"]["code"] == "manifest-change"
    assert manifest["explanations"]["app"].startswith(
        "manifest-change: app no longer depends on util (normal) [app/Cargo.toml]"
    )
    assert root["resolution"] == "matched" and list(root["selects"]) == ["app"]
    assert "diffed against the base" in root["not_selected"]["tool"]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_hostile_feature_name_in_a_manifest_change_prints_inert(repo: Path, fmt: str) -> None:
    hostile = 'features]\n"x\\n::error::owned\\u001b[31m" = []\n\n[package]'
    edit(repo, "app/Cargo.toml", "package]", hostile)
    commit_all(repo, "a feature with a hostile name")
    result = lanes(repo, "detect", "--base", "HEAD~1", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "gained feature x" in result.stdout.replace("\\", "")  # printed, escaped
    assert "owned" in result.stdout
    assert "\x1b" not in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.lstrip("| ").startswith("::")]


def test_retargeting_a_linked_path_dependency_compares_the_graphs(tmp_path: Path) -> None:
    """app depends on ``links/dep``, a link to util, retargeted to cli: no manifest changed,
    yet app's build did; with `unmatched: none`, only the graph comparison can tell."""
    found = files()
    found["lanes.yml"] = LANES_YML.replace('ignore: ["**/*.md", "lanes.yml"]', "unmatched: none")
    found["app/Cargo.toml"] = found["app/Cargo.toml"].replace(
        "util.workspace = true\n", 'dep = { path = "../links/dep", package = "util" }\n'
    )
    repo = make_repo(tmp_path / "ws", found)
    (repo / "links").mkdir()
    (repo / "links" / "dep").symlink_to("../util")
    commit_all(repo, "link")
    (repo / "links" / "dep").unlink()
    (repo / "links" / "dep").symlink_to("../cli")
    commit_all(repo, "retarget")

    data = detect(repo)

    assert data["diff"]["graphs"] == "base and head"
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app"]
    assert reasons(data, "app", "manifest-change")
