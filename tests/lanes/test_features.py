"""Feature resolution (lanes.features) on hand-built graphs: what a lane's build compiles.

Each case states the Cargo, Python or JS rule it checks; the expected sets are what
``cargo build``/``cargo test``, ``uv sync`` and a JS workspace build would build.
"""

from __future__ import annotations

from lanes.config import LaneSpec
from lanes.features import Graph, lane_tree, unknown_features
from lanes.model import Component, Edge


def crate(name: str, **features: tuple[str, ...]) -> Component:
    return Component(
        name, "cargo", name, f"{name}/Cargo.toml", features=tuple(sorted(features.items()))
    )


def covered(components: list[Component], edges: list[Edge], **lane: object) -> set[str]:
    spec = LaneSpec(name="lane", **lane)  # type: ignore[arg-type]
    return set(lane_tree(Graph.build(components, edges), spec))


def test_an_optional_dependency_behind_a_default_feature_is_built() -> None:
    components = [crate("rpc", default=("mob",), mob=("dep:mob",)), crate("mob")]
    edges = [Edge("rpc", "mob", optional=True)]
    assert covered(components, edges, roots=("rpc",)) == {"rpc", "mob"}
    assert covered(components, edges, roots=("rpc",), features="none") == {"rpc"}
    assert covered(components, edges, roots=("rpc",), features=("mob",)) == {"rpc", "mob"}
    assert covered(components, edges, roots=("rpc",), features=("rpc/mob",)) == {"rpc", "mob"}
    # A list adds to the defaults (``cargo --features``); one naming another crate changes
    # nothing of rpc's.
    assert covered(components, edges, roots=("rpc",), features=("other/mob",)) == {"rpc", "mob"}
    assert covered(components, edges[:0], roots=("rpc",), features=("other/mob",)) == {"rpc"}


def test_a_feature_list_adds_to_the_defaults_as_cargo_features_does() -> None:
    components = [
        crate("rpc", default=("mob",), mob=("dep:mob",), tele=("dep:tele",)),
        crate("mob"),
        crate("tele"),
    ]
    edges = [Edge("rpc", "mob", optional=True), Edge("rpc", "tele", optional=True)]
    assert covered(components, edges, roots=("rpc",), features=("tele",)) == {"rpc", "mob", "tele"}


def test_a_listed_feature_of_a_crate_below_the_roots_is_on_when_it_is_built() -> None:
    components = [crate("app"), crate("mid", extra=("dep:leaf",)), crate("leaf")]
    edges = [Edge("app", "mid"), Edge("mid", "leaf", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "mid"}
    assert covered(components, edges, roots=("app",), features=("mid/extra",)) == {
        "app",
        "mid",
        "leaf",
    }
    assert covered(components, edges[1:], roots=("app",), features=("mid/extra",)) == {"app"}


def test_the_label_names_the_feature_chain_that_enabled_the_edge() -> None:
    components = [crate("rpc", default=("mob",), mob=("dep:mob",)), crate("mob")]
    tree = lane_tree(
        Graph.build(components, [Edge("rpc", "mob", optional=True)]),
        LaneSpec("lane", roots=("rpc",)),
    )
    assert tree["mob"] == ("rpc", "normal+optional via rpc/default > mob")


def test_implicit_feature_of_an_optional_dependency() -> None:
    components = [crate("app", default=("telemetry",)), crate("telemetry")]
    edges = [Edge("app", "telemetry", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "telemetry"}
    assert covered(components, edges, roots=("app",), features="all") == {"app", "telemetry"}


def test_all_features_builds_every_optional_dependency_of_the_roots() -> None:
    components = [crate("app"), crate("a"), crate("b")]
    edges = [Edge("app", "a", optional=True), Edge("app", "b", optional=True, dep="renamed")]
    assert covered(components, edges, roots=("app",)) == {"app"}
    assert covered(components, edges, roots=("app",), features="all") == {"app", "a", "b"}


def test_features_requested_by_a_dependent_propagate() -> None:
    # app -> mid { features = ["extra"] }; mid: extra = ["dep:leaf"]
    components = [crate("app"), crate("mid", extra=("dep:leaf",)), crate("leaf")]
    edges = [Edge("app", "mid", features=("extra",)), Edge("mid", "leaf", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "mid", "leaf"}
    assert covered(components, edges[1:], roots=("mid",)) == {"mid"}


def test_default_features_false_drops_the_default_and_only_it() -> None:
    components = [crate("app"), crate("mid", default=("dep:leaf",)), crate("leaf")]
    edges = [Edge("app", "mid", default_features=False), Edge("mid", "leaf", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "mid"}
    # Another dependent asking for the default turns it on (features unify).
    edges.append(Edge("app", "mid", "build"))
    assert covered(components, edges, roots=("app",)) == {"app", "mid", "leaf"}


def test_dep_slash_feature_enables_the_dependency_and_its_feature() -> None:
    components = [
        crate("app", default=("mid/extra",)),
        crate("mid", extra=("dep:leaf",)),
        crate("leaf"),
    ]
    edges = [Edge("app", "mid", optional=True), Edge("mid", "leaf", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "mid", "leaf"}


def test_weak_feature_applies_only_when_the_dependency_is_on_anyway() -> None:
    components = [
        crate("app", default=("mid?/extra",), more=("dep:mid",)),
        crate("mid", extra=("dep:leaf",)),
        crate("leaf"),
    ]
    edges = [Edge("app", "mid", optional=True), Edge("mid", "leaf", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app"}
    both = ("default", "more")
    assert covered(components, edges, roots=("app",), features=both) == {"app", "mid", "leaf"}


def test_renamed_dependency_is_enabled_by_its_key() -> None:
    components = [crate("app", default=("dep:short",)), crate("long-name")]
    edges = [Edge("app", "long-name", optional=True, dep="short")]
    assert covered(components, edges, roots=("app",)) == {"app", "long-name"}


def test_cargo_dev_dependencies_are_one_hop_and_follow_include_dev() -> None:
    components = [crate("app"), crate("testkit"), crate("fixtures")]
    edges = [Edge("app", "testkit", "dev"), Edge("testkit", "fixtures", "dev")]
    assert covered(components, edges, roots=("app",)) == {"app", "testkit"}
    assert covered(components, edges, roots=("app",), include_dev="roots") == {"app", "testkit"}
    assert covered(components, edges, roots=("app",), include_dev=False) == {"app"}


def package(name: str) -> Component:
    return Component(name, "npm", f"packages/{name}", f"packages/{name}/package.json")


def test_js_dev_dependencies_are_build_inputs_at_every_hop() -> None:
    components = [package("web"), package("ui"), package("build-tools")]
    edges = [Edge("web", "ui"), Edge("ui", "build-tools", "dev")]
    assert covered(components, edges, roots=("web",)) == {"web", "ui", "build-tools"}
    assert covered(components, edges, roots=("web",), include_dev="roots") == {"web", "ui"}
    assert covered(components, edges, roots=("ui",), include_dev="roots") == {"ui", "build-tools"}


def project(name: str, **features: tuple[str, ...]) -> Component:
    return Component(
        name, "python", name, f"{name}/pyproject.toml", features=tuple(sorted(features.items()))
    )


def test_python_roots_install_their_own_extras_and_groups() -> None:
    components = [
        project(
            "api", **{"codecs": ("dep:extra:codecs:codec",), "group:dev": ("dep:group:dev:kit",)}
        ),
        project("codec"),
        project("kit"),
    ]
    edges = [
        Edge("api", "codec", optional=True, dep="extra:codecs:codec"),
        Edge("api", "kit", "dev", optional=True, dep="group:dev:kit"),
    ]
    assert covered(components, edges, roots=("api",)) == {"api", "codec", "kit"}
    assert covered(components, edges, roots=("api",), extras="none") == {"api", "kit"}
    assert covered(components, edges, roots=("api",), groups="none") == {"api", "codec"}
    assert covered(components, edges, roots=("api",), groups=("dev",)) == {"api", "codec", "kit"}
    assert covered(components, edges, roots=("api",), include_dev=False) == {"api", "codec"}


def test_python_extras_further_down_count_only_when_requested() -> None:
    plugin = {"openai": ("dep:extra:openai:openai-client",)}
    components = [project("app"), project("core", **plugin), project("openai-client")]
    edges = [Edge("core", "openai-client", optional=True, dep="extra:openai:openai-client")]
    plain = [*edges, Edge("app", "core")]
    assert covered(components, plain, roots=("app",)) == {"app", "core"}
    asked = [*edges, Edge("app", "core", features=("openai",))]
    assert covered(components, asked, roots=("app",)) == {"app", "core", "openai-client"}


def test_python_extras_all_reach_optional_edges_no_extra_names() -> None:
    components = [project("app"), project("plugin")]
    edges = [Edge("app", "plugin", optional=True)]
    assert covered(components, edges, roots=("app",)) == {"app", "plugin"}
    assert covered(components, edges, roots=("app",), extras="none") == {"app"}


def test_cycles_terminate() -> None:
    components = [crate("a", default=("dep:b",)), crate("b", default=("dep:a",))]
    edges = [Edge("a", "b", optional=True), Edge("b", "a", optional=True), Edge("a", "a", "dev")]
    assert covered(components, edges, roots=("a",)) == {"a", "b"}


def test_unknown_listed_features_are_reported() -> None:
    graph = Graph.build([crate("rpc", mob=("dep:mob",)), crate("mob")], [])
    lane = LaneSpec("sdk", roots=("rpc",), features=("mob", "rpc/nope", "ghost"))
    assert unknown_features(graph, lane) == [
        "unknown-feature: rpc/nope (features of lane sdk)",
        "unknown-feature: ghost (features of lane sdk)",
    ]
