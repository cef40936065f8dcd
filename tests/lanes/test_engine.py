"""The pure core: (changed paths, index, rules) -> selection, on hand-built graphs."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from lanes.config_load import parse_config
from lanes.discovery import present_kinds
from lanes.engine import Rules, Selection, resolve_path, select
from lanes.graph import build_index
from lanes.index import Index
from lanes.model import Component, Discovery, Edge, ManifestError

CONFIG = """\
version: 1
components:
  tools:
    paths: ["tools/**", "!tools/vendor/**"]
  proto:
    paths: ["session/proto/**"]
global: ["Cargo.lock", ".github/workflows/**"]
ignore: ["docs/**", "**/*.md"]
lanes:
  sdk:
    roots: [rpc]
    include_dev: true
    paths: ["sdks/**"]
    run: nox -s "lane(sdk)"
  minimal:
    roots: [core]
    include_dev: false
  feature:
    roots: [app]
    include_optional: true
  audit:
    paths: ["deny.toml"]
"""


def discovered(*errors: ManifestError) -> Discovery:
    def crate(name: str, directory: str) -> Component:
        return Component(name, "cargo", directory, f"{directory}/Cargo.toml")

    return Discovery(
        components=[
            crate("core", "crates/core"),
            crate("session", "crates/session"),
            crate("runtime", "crates/runtime"),
            crate("rpc", "crates/rpc"),
            crate("app", "crates/app"),
            crate("testkit", "crates/testkit"),
            crate("fixtures", "crates/fixtures"),
            crate("telemetry", "crates/telemetry"),
            crate("nested", "crates/rpc/nested"),
        ],
        edges=[
            Edge("session", "core"),
            Edge("runtime", "session"),
            Edge("rpc", "runtime"),
            Edge("rpc", "nested", "build"),
            Edge("rpc", "testkit", "dev"),
            Edge("testkit", "fixtures", "dev"),
            Edge("app", "rpc"),
            Edge("app", "telemetry", optional=True),
            Edge("core", "session", "dev"),  # a dev cycle, as Cargo allows
        ],
        errors=list(errors),
    )


def setup(*errors: ManifestError, text: str = CONFIG) -> tuple[Rules, Index]:
    config = parse_config(text)
    return Rules.from_config(config), build_index(config, discovered(*errors))


def run(
    paths: list[str], *errors: ManifestError, text: str = CONFIG, uncertain: tuple[str, ...] = ()
) -> Selection:
    rules, index = setup(*errors, text=text)
    return select(paths, rules, index, uncertain=uncertain)


def test_low_level_change_selects_every_lane_whose_roots_depend_on_it() -> None:
    selection = run(["crates/session/src/persistent.rs"])
    assert selection.selected == ["sdk", "feature"]
    assert selection.mode == "precise"
    chain = selection.reasons["sdk"][0].chain
    assert [c for c, _ in chain] == ["rpc", "runtime", "session"]
    assert selection.reasons["feature"][0].chain[0] == ("app", "root")


def test_minimal_lane_does_not_follow_dev_cycle() -> None:
    assert run(["crates/core/src/lib.rs"]).selected == ["sdk", "minimal", "feature"]
    assert "minimal" not in run(["crates/session/src/lib.rs"]).selected


def test_include_dev_defaults_to_the_roots_dev_dependencies() -> None:
    text = CONFIG.replace("    roots: [core]\n    include_dev: false\n", "    roots: [core]\n")
    selection = run(["crates/session/src/lib.rs"], text=text)
    assert "minimal" in selection.selected
    assert selection.reasons["minimal"][0].chain == (("core", "root"), ("session", "dev"))


def test_dev_dependencies_are_one_hop() -> None:
    assert run(["crates/testkit/src/lib.rs"]).selected == ["sdk"]
    assert run(["crates/fixtures/src/lib.rs"]).selected == []
    assert run(["crates/testkit/src/lib.rs"]).reasons["sdk"][0].chain[-1] == ("testkit", "dev")


def test_build_edges_are_followed() -> None:
    selection = run(["crates/rpc/nested/build.rs"])
    assert selection.selected == ["sdk", "feature"]
    assert selection.reasons["sdk"][0].component == "nested"


def test_optional_edges_only_for_include_optional() -> None:
    selection = run(["crates/telemetry/src/lib.rs"])
    assert selection.selected == ["feature"]
    assert selection.reasons["feature"][0].chain[-1] == (
        "telemetry",
        "normal+optional via app/telemetry",
    )


def test_global_selects_everything_precisely() -> None:
    selection = run(["Cargo.lock"])
    assert selection.selected == ["sdk", "minimal", "feature", "audit"]
    assert selection.mode == "precise"
    assert selection.reasons["audit"][0].code == "global"


def test_lane_paths_are_direct_triggers() -> None:
    assert run(["deny.toml"]).selected == ["audit"]
    assert run(["sdks/python/client.py"]).selected == ["sdk"]


def test_owned_markdown_is_never_ignored() -> None:
    assert run(["crates/core/SKILL.md"]).selected == ["sdk", "minimal", "feature"]
    docs = run(["docs/index.md", "README.md"])
    assert docs.selected == [] and docs.mode == "precise"
    assert docs.ignored == ["docs/index.md", "README.md"]


def test_unmatched_policies() -> None:
    fail_safe = run(["scripts/release.sh"])
    assert fail_safe.selected == ["sdk", "minimal", "feature", "audit"]
    assert fail_safe.mode == "fail-safe" and "unmatched" in fail_safe.failsafe
    assert fail_safe.unmatched == ["scripts/release.sh"]
    none = run(["scripts/release.sh"], text=CONFIG + "unmatched: none\n")
    assert none.selected == [] and none.unmatched == ["scripts/release.sh"]
    error = run(["scripts/release.sh"], text=CONFIG + "unmatched: error\n")
    assert error.unmatched_error and error.mode == "fail-safe"


def _owner(index: Index, path: str) -> str | None:
    owner = index.owner(path)
    return None if owner is None else owner.component


def test_deepest_owner_wins_and_explicit_wins_ties() -> None:
    rules, index = setup()
    assert _owner(index, "crates/rpc/nested/src/lib.rs") == "nested"
    assert _owner(index, "crates/rpc/src/lib.rs") == "rpc"
    text = CONFIG.replace('paths: ["session/proto/**"]', 'paths: ["crates/session/proto/**"]')
    rules, index = setup(text=text)
    assert _owner(index, "crates/session/proto/x.proto") == "proto"
    assert resolve_path("crates/session/proto/x.proto", rules, index).lanes == {}


def test_explicit_exclude_and_negation() -> None:
    _rules, index = setup()
    assert _owner(index, "tools/gen.py") == "tools"
    assert index.owner("tools/vendor/x.py") is None


def test_manifest_error_goes_fail_safe_with_reason() -> None:
    selection = run(["docs/index.md"], ManifestError("crates/app/Cargo.toml", 3, "bad"))
    assert selection.mode == "fail-safe"
    assert selection.selected == ["sdk", "minimal", "feature", "audit"]
    assert selection.failsafe == ["manifest-error: crates/app/Cargo.toml:3"]
    assert selection.reasons["audit"][0].code == "manifest-error: crates/app/Cargo.toml:3"


def test_unknown_root_goes_fail_safe() -> None:
    selection = run(["docs/a.md"], text=CONFIG.replace("roots: [core]", "roots: [gone]"))
    assert selection.mode == "fail-safe"
    assert selection.failsafe == ["unknown-component: gone (lane minimal)"]


def test_uncertain_change_selects_everything() -> None:
    selection = run([], uncertain=("git-error",))
    assert selection.selected == ["sdk", "minimal", "feature", "audit"]
    assert selection.mode == "fail-safe" and selection.failsafe == ["git-error"]


def test_empty_change_is_precise_and_selects_nothing() -> None:
    selection = run([])
    assert selection.selected == [] and selection.mode == "precise" and selection.failsafe == []


def test_index_round_trips_through_json() -> None:
    _, index = setup()
    restored = Index.from_json(index.to_json())
    assert restored == index


def test_same_name_in_two_ecosystems_goes_fail_safe() -> None:
    found = discovered()
    found.components.append(Component("core", "npm", "web/core", "web/core/package.json"))
    config = parse_config(CONFIG)
    selection = select(["docs/a.md"], Rules.from_config(config), build_index(config, found))
    assert selection.mode == "fail-safe"
    assert selection.failsafe == ["duplicate-component: core (cargo, npm)"]


def test_pnpm_only_repository_is_discovered_as_npm(tmp_path: Path) -> None:
    (tmp_path / "pnpm-workspace.yaml").write_text("packages: ['packages/*']\n")
    assert present_kinds(tmp_path) == ["npm"]


def _reference_directory_owner(index: Index, path: str) -> tuple[int, str] | None:
    """The directory walk as first written (split, then join each prefix): the semantics the
    faster walk keeps."""
    parts = path.split("/")[:-1]
    for depth in range(len(parts), -1, -1):
        directory = "/".join(parts[:depth])
        component = index.directories.get(directory)
        if component is not None:
            return depth, component
    return None


_SEGMENTS = st.sampled_from(["a", "b", "", "src", "x.rs"])


@settings(max_examples=500, deadline=None)
@given(
    path=st.lists(_SEGMENTS, min_size=1, max_size=6).map("/".join),
    directories=st.sets(st.lists(_SEGMENTS, max_size=4).map("/".join), max_size=5),
)
def test_directory_owner_walks_every_prefix_deepest_first(path: str, directories: set[str]) -> None:
    _, index = setup()
    index = index._replace(
        directories={d: f"c{n}" for n, d in enumerate(sorted(directories))},
        directory_excludes={},
    )
    found = index._directory_owner(path)
    expected = _reference_directory_owner(index, path)
    assert (None if found is None else (found[0], found[2].component)) == expected
