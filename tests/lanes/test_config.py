from __future__ import annotations

from pathlib import Path

import pytest

from lanes.config import ConfigError
from lanes.config_load import load_config, parse_config

FULL = """\
version: 1
discover: [cargo, python, npm]
components:
  core:
    paths: ["core/**"]
    depends_on: [util]
    dev_depends_on: [testkit]
    exclude: ["core/README.md"]
global: ["Cargo.lock", ".github/workflows/**", "lanes.yml"]
ignore: ["docs/**", "*.md"]
lanes:
  sdk:
    description: "SDK server and SDK suites"
    roots: [rpc]
    include_dev: true
    include_optional: true
    paths: ["sdks/**"]
    run: 'nox -s "lane(sdk)"'
  docs:
    paths: ["docs/**"]
unmatched: all
contracts:
  - path: core/src/lib.rs
    selects: [sdk]
    not: [docs]
third_party_never_requires_local: [".", "./py/"]
"""


def test_full_example_from_the_issue_loads() -> None:
    config = parse_config(FULL)
    assert config.discover == ("cargo", "python", "npm")
    core = config.components["core"]
    assert core.paths == ("core/**",) and core.depends_on == ("util",)
    assert core.dev_depends_on == ("testkit",) and core.exclude == ("core/README.md",)
    sdk = config.lanes["sdk"]
    assert (sdk.roots, sdk.include_dev, sdk.features) == (("rpc",), True, "all")
    assert sdk.run == 'nox -s "lane(sdk)"'
    assert config.unmatched == "all"
    assert config.contracts[0].selects == ("sdk",) and config.contracts[0].not_selects == ("docs",)
    assert config.contracts[0].line == 23
    assert config.third_party_never_requires_local == ("", "py")


def test_defaults() -> None:
    config = parse_config("version: 1\n")
    assert config.discover is None and config.unmatched == "all" and config.lanes == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "version: 1\nlanes:\n  sdk:\n    roots: rpc\n",
            "x.yml:4:12: lanes.sdk.roots: expected a list",
        ),
        ("version: 1\nfoo: 1\n", "x.yml:2:1: foo: unknown key; expected one of version"),
        ("version: 2\n", "x.yml:1:10: version: expected 1"),
        ("lanes: {}\n", "x.yml:1:1: version: missing"),
        (
            "version: 1\nlanes:\n  sdk:\n    roots: [a]\n    include_dev: maybe\n",
            "x.yml:5:18: lanes.sdk.include_dev: expected true, false or roots",
        ),
        (
            "version: 1\nlanes:\n  sdk:\n    roots: [a]\n    colour: red\n",
            "x.yml:5:5: lanes.sdk.colour: unknown key",
        ),
        (
            "version: 1\nlanes:\n  'bad lane':\n    roots: [a]\n",
            "x.yml:3:3: lanes.bad lane: expected a lane name",
        ),
        ("version: 1\nlanes:\n  sdk: {}\n", "x.yml:3:8: lanes.sdk: expected at least one of"),
        ("version: 1\nglobal: ['core/[ab']\n", "x.yml:2:10: global[0]: expected a glob"),
        (
            "version: 1\nglobal: ['/abs/**']\n",
            "x.yml:2:10: global[0]: expected a repository-relative",
        ),
        (
            "version: 1\nunmatched: maybe\n",
            "x.yml:2:12: unmatched: expected one of all, none, error",
        ),
        ("version: 1\ndiscover: [maven]\n", "x.yml:2:12: discover[0]: expected one of cargo"),
        ("a: &x [1]\nb: *x\n", "x.yml:2:4: invalid YAML: anchors and aliases are not allowed"),
        ("version: 1\n  bad: [\n", "x.yml:2:6: invalid YAML"),
        ("version: 1\nversion: 1\n", "x.yml:2:1: version: duplicate key"),
        (
            "version: 1\nlanes: {a: {roots: [x]}}\ncontracts:\n  - path: p\n    selects: [b]\n",
            "x.yml:5:5: contracts[0]: unknown lane 'b'",
        ),
        ("", "x.yml:1:1: empty file"),
    ],
)
def test_errors_name_file_line_column_key_and_expectation(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.yml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_billion_laughs_is_refused_without_expansion() -> None:
    lines = ["version: 1", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(20)]
    with pytest.raises(ConfigError, match="anchors and aliases"):
        parse_config("\n".join(lines))


def test_python_tags_are_not_constructed() -> None:
    with pytest.raises(ConfigError):
        parse_config("version: 1\nlanes: !!python/object/apply:os.system ['true']\n")


def test_oversized_and_unreadable_files(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    big.write_text("version: 1\n" + "#" * (1 << 20))
    with pytest.raises(ConfigError, match="larger than"):
        load_config(big)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"version: 1\n\xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)


def test_config_round_trips_through_the_json_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "lanes.yml"
    path.write_text(FULL)
    first = load_config(path, "lanes.yml")
    assert list((tmp_path / "cache" / "configs").glob("config-*.json"))
    assert load_config(path, "lanes.yml") == first == parse_config(FULL)
    path.write_text(FULL.replace("unmatched: all", "unmatched: none"))
    assert load_config(path, "lanes.yml").unmatched == "none"


def test_published_schema_matches_the_loader() -> None:
    import json

    from lanes import config_parse

    schema = json.loads(
        (Path(config_parse.__file__).parent / "schema" / "lanes.schema.json").read_text()
    )
    assert tuple(schema["properties"]) == config_parse.TOP_KEYS
    component = schema["properties"]["components"]["additionalProperties"]["properties"]
    assert tuple(component) == config_parse.COMPONENT_KEYS
    lane = schema["properties"]["lanes"]["additionalProperties"]["properties"]
    assert tuple(lane) == config_parse.LANE_KEYS
    contract = schema["properties"]["contracts"]["items"]["properties"]
    assert tuple(contract) == config_parse.CONTRACT_KEYS


def test_qualified_component_names_are_accepted_by_the_loader_and_the_schema() -> None:
    import json
    import re

    from lanes import config_parse

    config = parse_config(
        "version: 1\nlanes:\n  py:\n    roots: ['python:shared', 'cargo:@x/y', core]\n"
    )
    assert config.lanes["py"].roots == ("python:shared", "cargo:@x/y", "core")
    schema = json.loads(
        (Path(config_parse.__file__).parent / "schema" / "lanes.schema.json").read_text()
    )
    pattern = re.compile(schema["$defs"]["name"]["pattern"])
    assert pattern.match("python:shared") and not pattern.match("rust:shared")
    with pytest.raises(ConfigError):
        parse_config("version: 1\nlanes:\n  py:\n    roots: ['rust:shared']\n")
