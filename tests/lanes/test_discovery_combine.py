"""Combining the ecosystems' discoveries (lanes.discovery._combine)."""

from __future__ import annotations

from lanes.discovery._combine import combine
from lanes.model import Component, Discovery, Edge, ManifestError


def crate(name: str, directory: str) -> Component:
    return Component(name, "cargo", directory=directory, manifest=f"{directory}/Cargo.toml")


def test_one_directory_two_manifests_is_one_component_with_both_edges() -> None:
    cargo = Discovery(
        components=[crate("fast_lib", "py"), crate("core", "core")],
        edges=[Edge("fast_lib", "core")],
        manifests=["core/Cargo.toml", "py/Cargo.toml"],
    )
    python = Discovery(
        components=[
            Component(
                "fast-lib",
                "python",
                directory="py",
                manifest="py/pyproject.toml",
                features=(("cli", ("dep:extra:cli:helper",)),),
            ),
            Component("helper", "python", directory="helper"),
            Component("app", "python", directory="app"),
        ],
        edges=[
            Edge("fast-lib", "helper", "normal", True, "extra:cli:helper", (), False),
            Edge("app", "fast-lib", default_features=False),
        ],
        errors=[ManifestError("app/pyproject.toml", 3, "x")],
        manifests=["app/pyproject.toml", "py/pyproject.toml"],
    )
    npm = Discovery(
        components=[Component("fast-lib-js", "npm", directory="py", paths=("py/index.js",))],
        edges=[Edge("fast-lib-js", "helper")],  # a JS name, not the Python project
    )
    result = combine([("python", python), ("npm", npm), ("cargo", cargo)])
    names = {c.name: c for c in result.components}
    assert sorted(names) == ["app", "core", "fast_lib", "helper"]
    merged = names["fast_lib"]
    assert (merged.kind, merged.directory, merged.manifest, merged.paths) == (
        "cargo",
        "py",
        "py/Cargo.toml",
        (),
    )
    assert dict(merged.features) == {"cli": ("dep:extra:cli:helper",), "default": ("cli",)}
    assert set(result.edges) == {
        Edge("fast_lib", "core"),
        Edge("fast_lib", "helper", "normal", True, "extra:cli:helper", (), False),
        Edge("app", "fast_lib", default_features=False),
        Edge("fast_lib", "helper"),
    }
    assert result.errors == python.errors
    assert sorted(result.manifests) == sorted(cargo.manifests + python.manifests)


def test_same_name_in_two_ecosystems_is_qualified_and_edges_stay_in_their_ecosystem() -> None:
    cargo = Discovery(
        components=[crate("shared", "crates/shared"), crate("app-rs", "crates/app")],
        edges=[Edge("app-rs", "shared")],
    )
    npm = Discovery(
        components=[
            Component("shared", "npm", directory="js/shared"),
            Component("web", "npm", directory="js/web"),
        ],
        edges=[Edge("web", "shared", "dev")],
    )
    result = combine([("cargo", cargo), ("npm", npm)])
    assert sorted(c.name for c in result.components) == [
        "app-rs",
        "cargo:shared",
        "npm:shared",
        "web",
    ]
    assert set(result.edges) == {Edge("app-rs", "cargo:shared"), Edge("web", "npm:shared", "dev")}


def test_narrow_owners_in_one_directory_keep_their_paths() -> None:
    python = Discovery(
        components=[Component("root", "python", directory="", paths=("src/root/**",))]
    )
    npm = Discovery(components=[Component("root-js", "npm", directory="", paths=("index.js",))])
    result = combine([("python", python), ("npm", npm)])
    assert [(c.name, c.paths) for c in result.components] == [("root", ("index.js", "src/root/**"))]


def test_nothing_shared_is_left_alone() -> None:
    python = Discovery(components=[Component("a", "python", directory="a")], edges=[Edge("a", "b")])
    assert combine([("python", python)]) == python


def test_a_self_edge_stays_through_a_merge() -> None:
    cargo = Discovery(
        components=[crate("x", "x")], edges=[Edge("x", "x", "dev", features=("testing",))]
    )
    python = Discovery(components=[Component("x-py", "python", directory="x")])
    result = combine([("cargo", cargo), ("python", python)])
    assert result.edges == [Edge("x", "x", "dev", features=("testing",))]
