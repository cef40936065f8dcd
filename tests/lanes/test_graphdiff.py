"""The pure graph comparison: what a root manifest diff may refine, how changes are named."""

from __future__ import annotations

from typing import Any

from lanes.config import Config, LaneSpec
from lanes.graph import build_index
from lanes.graphdiff import (
    Side,
    cargo_root_diff,
    compare,
    component_changes,
    lock_scope,
    lockfile_marks,
)
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
    found = lockfile_marks("Cargo.lock", diff, graph, graph)
    assert [(m.component, m.detail) for m in found.marks] == [("a", "serde 1.0.1 -> 1.0.2")]
    assert found.failsafe == ["lockfile-unmapped: Cargo.lock: ghost"]
    assert found.why_not == "" and found.replaced == frozenset()


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


# --- the lock of a workspace below the top -----------------------------------------------------

FUZZ = Component("fuzz", "cargo", directory="fuzz", manifest="fuzz/Cargo.toml")
HELPER = Component(
    "helper", "cargo", directory="fuzz/h", manifest="fuzz/h/Cargo.toml", reads=("fuzz/Cargo.lock",)
)
NOTES = Component("notes", "explicit", paths=("notes/**",), reads=("fuzz/Cargo.lock",))
NESTED = [A, B, FUZZ, HELPER, NOTES]
NESTED_EDGES = [Edge("fuzz", "a"), Edge("helper", "a"), Edge("a", "b")]
SERDE = (PackageChange("serde", "1.0.1", "1.0.2"),)
NAMES = ("fuzz", "helper")


def test_a_nested_lock_is_scoped_to_the_cargo_packages_building_with_it() -> None:
    graph = side(NESTED, NESTED_EDGES)
    assert lock_scope("fuzz/Cargo.lock", graph.derived) == {"fuzz", "helper"}  # notes: explicit
    assert lock_scope("Cargo.lock", graph.derived) == frozenset()
    assert lock_scope("a/src/Cargo.lock", graph.derived) == frozenset()  # no manifest beside it


def test_only_the_scope_members_the_lock_names_are_replaced() -> None:
    graph = side(NESTED, NESTED_EDGES)
    # the lock names fuzz and a (a path dependency of another workspace), not helper: a stale
    # lock, so helper's lanes stay; a reached through b marks fuzz, which is marked already
    diff = LockDiff(
        {LocalPackage("fuzz", None): SERDE, LocalPackage("a", None): SERDE},
        (),
        frozenset({LocalPackage("fuzz", None), LocalPackage("a", None)}),
    )
    found = lockfile_marks("fuzz/Cargo.lock", diff, graph, graph, scope=frozenset(NAMES))
    assert found.replaced == {"fuzz"}
    assert [(m.component, m.detail) for m in found.marks] == [("fuzz", "serde 1.0.1 -> 1.0.2")]


def test_another_workspaces_member_marks_the_scope_members_depending_on_it() -> None:
    graph = side(NESTED, NESTED_EDGES)
    members = frozenset(LocalPackage(n, None) for n in ("fuzz", "helper", "a", "b"))
    diff = LockDiff({LocalPackage("b", None): SERDE}, (), members)
    found = lockfile_marks("fuzz/Cargo.lock", diff, graph, graph, scope=frozenset(NAMES))
    assert [(m.component, m.detail) for m in found.marks] == [
        ("fuzz", "serde 1.0.1 -> 1.0.2 (through b)"),
        ("helper", "serde 1.0.1 -> 1.0.2 (through b)"),
    ]
    lonely = side(NESTED, [Edge("a", "b")])  # no scope member builds a or b
    found = lockfile_marks("fuzz/Cargo.lock", diff, lonely, lonely, scope=frozenset(NAMES))
    assert found.marks == [] and found.why_not == (
        "fuzz/Cargo.lock: b changed and no member of its workspace builds it"
    )
