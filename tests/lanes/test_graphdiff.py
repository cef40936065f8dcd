"""The pure graph comparison: what a root manifest diff may refine, how changes are named."""

from __future__ import annotations

from typing import Any

from lanes.config import Config, LaneSpec
from lanes.graph import build_index
from lanes.graphdiff import Side, cargo_root_diff, compare, component_changes, lockfile_marks
from lanes.lockdiff import LocalPackage, LockDiff, PackageChange
from lanes.model import Component, Discovery, Edge

ROOT: dict[str, Any] = {
    "workspace": {
        "members": ["a", "b"],
        "dependencies": {"b": {"path": "b"}, "serde": "1"},
        "lints": {"rust": {"unsafe_code": "forbid"}},
    },
    "patch": {"crates-io": {}},
}


def changed(**tables: Any) -> dict[str, Any]:
    document = {
        key: dict(value) if isinstance(value, dict) else value for key, value in ROOT.items()
    }
    workspace = dict(document["workspace"])
    workspace.update(tables.pop("workspace", {}))
    document["workspace"] = workspace
    document.update(tables)
    return document


def test_members_and_path_entries_are_attributable() -> None:
    diff = cargo_root_diff(ROOT, changed(workspace={"members": ["a", "b", "c"]}))
    assert diff.why_not is None and diff.dependencies == ()
    moved = changed(workspace={"dependencies": {"b": {"path": "libs/b"}, "serde": "1"}})
    assert cargo_root_diff(ROOT, moved).dependencies == (("b", ("b", "libs/b")),)


def test_lints_patch_registry_entries_and_package_keys_stay_global() -> None:
    lints = changed(workspace={"lints": {"rust": {"unsafe_code": "deny"}}})
    assert cargo_root_diff(ROOT, lints).why_not == "[workspace.lints.rust.unsafe_code] changed"
    patch = changed(patch={"crates-io": {"serde": {"path": "vendor/serde"}}})
    assert cargo_root_diff(ROOT, patch).why_not == "[patch.crates-io.serde] changed"
    registry = changed(workspace={"dependencies": {"b": {"path": "b"}, "serde": "1.0.200"}})
    assert "serde changed and is not a path dependency" in str(
        cargo_root_diff(ROOT, registry).why_not
    )
    assert cargo_root_diff(None, ROOT).why_not == "Cargo.toml cannot be read or parsed at base"


def test_a_root_package_attributes_its_own_tables_only() -> None:
    package = {"package": {"name": "r", "version": "1.0.0"}, "dependencies": {"x": "1"}}
    deps = {**package, "dependencies": {"x": "2"}}
    assert cargo_root_diff(package, deps) == (None, (), ("dependencies",))
    version = {**package, "package": {"name": "r", "version": "1.1.0"}}
    assert cargo_root_diff(package, version).why_not == "[package.version] changed"


def side(components: list[Component], edges: list[Edge], root: str = "a") -> Side:
    config = Config(lanes={"a": LaneSpec("a", roots=(root,))})
    return Side(build_index(config, Discovery(components, edges)), tuple(components), tuple(edges))


A = Component("a", "cargo", directory="a", manifest="a/Cargo.toml")
B = Component("b", "cargo", directory="b", manifest="b/Cargo.toml")


def test_component_changes_name_edges_and_features() -> None:
    before = side([A, B], [Edge("a", "b")])
    after = side(
        [A._replace(features=(("full", ("dep:b",)),)), B],
        [Edge("a", "b", optional=True, features=("x",))],
    )
    assert component_changes(before, after) == {
        "a": [
            "a gained feature full = [dep:b]",
            "a's dependency on b changed (normal -> normal, optional, features x)",
        ]
    }
    assert component_changes(after, side([A], []))["b"] == ["b was removed"]


def test_a_lockfile_member_mapping_to_no_component_fails_safe() -> None:
    graph = side([A, B], [Edge("a", "b")])
    change = (PackageChange("serde", "1.0.1", "1.0.2"),)
    diff = LockDiff({LocalPackage("a", None): change, LocalPackage("ghost", "x"): change}, ())
    marks, failsafe = lockfile_marks("Cargo.lock", diff, graph, graph)
    assert [(m.component, m.detail) for m in marks] == [("a", "serde 1.0.1 -> 1.0.2")]
    assert failsafe == ["lockfile-unmapped: Cargo.lock: ghost"]


def test_a_root_package_table_change_marks_the_root_package() -> None:
    root = Component("r", "cargo", directory="", manifest="Cargo.toml", paths=("src/**",))
    graph = side([root, B], [Edge("r", "b")], root="r")
    package = {"workspace": {"members": ["b"]}, "package": {"name": "r"}, "dependencies": {}}
    diff = cargo_root_diff(package, {**package, "dependencies": {"itoa": "1"}})
    found = compare(graph, graph, ["Cargo.toml"], roots={"Cargo.toml": diff})
    assert found.refined == {"Cargo.toml"}
    assert [(m.component, m.detail) for m in found.marks] == [("r", "r [dependencies] changed")]


def test_a_workspace_dependency_mapping_to_no_component_keeps_the_root_global() -> None:
    graph = side([A, B], [Edge("a", "b")])
    entry = {"workspace": {"dependencies": {"gone": {"path": "vendor/gone"}}}}
    diff = cargo_root_diff(entry, {"workspace": {"dependencies": {}}})
    found = compare(graph, graph, ["Cargo.toml"], roots={"Cargo.toml": diff})
    assert found.refined == frozenset()
    assert found.kept == {
        "Cargo.toml": "not refined: [workspace.dependencies] gone maps to no component"
    }
