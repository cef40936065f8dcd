"""Generated configurations: schema-shaped documents with wrong types, YAML 1.1 scalar forms,
hostile names and globs, and text mutations of them. Each one is either a clean
:class:`ConfigError` naming the file (with a line inside the text) or a configuration the
engine can use; never an internal error."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lanes.config import Config, ConfigError
from lanes.config_load import parse_config
from lanes.engine import Rules, select
from lanes.graph import build_index
from lanes.model import Discovery

RAW = ["0x1", "0b1", "0o7", "01", "1:00", "1_0", "~", "yes", "on", "1e3", ".inf", "1" * 5000]
"""YAML 1.1 scalar forms written unquoted (the generator marks them and the emitter unquotes)."""

raw_scalars = st.sampled_from(RAW).map(lambda token: f"@@RAW:{token}@@")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    raw_scalars,
)
GOOD_NAMES = ["app", "core", "web", "a-b", "x_1"]
BAD_NAMES = ["App", "mode", "Lanes", "count", "a.b", "a_b", "@s/x", "", "x y", "a\u202eb"]
names = st.sampled_from(GOOD_NAMES * 6 + BAD_NAMES)
GOOD_PARTS = ["a", "b/", "*", "**", "**/", "/", "?", "[a-c]", "[!x]", ".rs"]
BAD_PARTS = ["!", "[", "]", "\\", "[z-a]", "[]"]
globs = st.lists(st.sampled_from(GOOD_PARTS * 8 + BAD_PARTS), min_size=1, max_size=4).map("".join)
kinds = st.sampled_from(["cargo", "python", "npm"] * 3 + ["maven"])


def listed(items: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(items, max_size=3)


component = st.fixed_dictionaries(
    {},
    optional={
        "paths": listed(globs),
        "depends_on": listed(names),
        "dev_depends_on": listed(names),
        "exclude": listed(globs),
    },
)
lane = st.fixed_dictionaries(
    {"roots": listed(names)},
    optional={
        "description": st.text(max_size=10),
        "include_dev": st.booleans(),
        "include_optional": st.booleans(),
        "paths": listed(globs),
        "run": st.text(max_size=10),
    },
)
contract = st.fixed_dictionaries(
    {"path": st.text(max_size=10), "selects": listed(names)},
    optional={"not": listed(names), "exists": st.booleans()},
)
schema_shaped = st.fixed_dictionaries(
    {"version": st.just(1)},
    optional={
        "discover": listed(kinds),
        "components": st.dictionaries(names, component, max_size=3),
        "global": listed(globs),
        "ignore": listed(globs),
        "lanes": st.dictionaries(names, lane, max_size=4),
        "unmatched": st.sampled_from(["all", "none", "error", "some"]),
        "contracts": st.lists(contract, max_size=3),
    },
)
retyped = st.one_of(st.just([]), st.lists(st.tuples(st.integers(0, 999), scalars), max_size=2))
"""Values replaced by a scalar of any type (a wrong type, a YAML 1.1 form, an unknown key)."""


def slots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of ``document``, the document itself included."""
    found: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        entries = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in entries:
            found.append((node, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return found


def retype(document: dict[str, Any], changes: list[tuple[int, Any]]) -> dict[str, Any]:
    for choice, value in changes:
        if choice % 10 == 3:
            document["colour"] = value
            continue
        places = slots(document)
        container, key = places[choice % len(places)]
        container[key] = value
    return document


documents = st.tuples(schema_shaped, retyped).map(lambda drawn: retype(*drawn))


MUTATION_TEXT = st.text(
    alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`,?\t\n \x00\x01\x1b\x85\ufeff\udc80a1")),
    max_size=4,
)
mutations = st.one_of(
    st.just([]),
    st.just([]),
    st.lists(
        st.tuples(
            st.floats(0, 1), st.sampled_from(["insert", "delete", "duplicate"]), MUTATION_TEXT
        ),
        min_size=1,
        max_size=3,
    ),
)


YAML_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
"""What YAML counts as a line break (so what its line numbers count)."""


def emit(document: Any, style: str) -> str:
    if style == "json":
        text = json.dumps(document, ensure_ascii=False)
    else:
        text = yaml.safe_dump(document, default_flow_style=style == "flow", allow_unicode=True)
    for token in RAW:
        for quoted in (f'"@@RAW:{token}@@"', f"'@@RAW:{token}@@'", f"@@RAW:{token}@@"):
            text = text.replace(quoted, token)
    return text


def mutate(text: str, edits: list[tuple[float, str, str]]) -> str:
    for where, operation, piece in edits:
        at = int(where * len(text))
        if operation == "insert":
            text = text[:at] + piece + text[at:]
        elif operation == "delete":
            text = text[:at] + text[at + len(piece) + 1 :]
        else:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            line = text[start : end if end >= 0 else len(text)]
            text = text[:start] + line + "\n" + text[start:]
    return text


def check_usable(config: Config) -> None:
    rules = Rules.from_config(config)
    index = build_index(config, Discovery())
    selection = select(["a/b.rs", "README.md", "x/../y", "Cargo.toml"], rules, index)
    assert set(selection.lanes) == set(config.lanes)


@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents, st.sampled_from(["json", "block", "flow"]), mutations)
def test_a_generated_config_is_valid_or_a_clean_config_error(
    document: Any, style: str, edits: list[tuple[float, str, str]]
) -> None:
    text = mutate(emit(document, style), edits)
    try:
        config = parse_config(text, "gen.yml")
    except ConfigError as error:
        assert str(error).startswith("gen.yml")
        assert 0 <= error.line <= len(YAML_LINE_BREAK.split(text)) + 1
        assert error.expected
        event(f"config error {error.key.split('.')[0][:12]}: {error.expected[:30]}")
        return
    event("valid config" + (" with lanes" if config.lanes else ""))
    check_usable(config)
