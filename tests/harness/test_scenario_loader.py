"""The scenario loader: the bundled catalogue, and errors that name file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.scenario import LANES, load_all, load_scenario, parse_scenario
from harness.yamlnodes import ScenarioError

GOOD = """\
id: tiny
title: tiny
lanes: [minimal]
pins: nothing
sessions: [s1]
steps:
  - create: s1
  - turn: s1
"""


def test_bundled_catalogue_is_large_and_covers_every_lane() -> None:
    scenarios = load_all()
    assert len(scenarios) >= 25
    for lane in LANES:
        assert any(lane in s.lanes for s in scenarios), lane
    assert all(s.pins and s.title for s in scenarios)


def test_catalogue_pins_every_applicable_catalogued_bug() -> None:
    pinned = {bug for s in load_all() for bug in re.findall(r"\bbug-\d\d\b", s.pins)}
    for number in [*range(1, 19), *range(20, 31)]:  # bug-19: tests/session_core only
        assert f"bug-{number:02d}" in pinned, number


def test_good_scenario_parses() -> None:
    scenario = parse_scenario(GOOD, "tiny.yml")
    assert [s.action for s in scenario.steps] == ["create", "turn"]
    assert scenario.backends == ("memory", "sqlite")
    assert scenario.explore == ("memory",)


def test_sqlite_only_scenarios_are_explored_on_sqlite() -> None:
    scenario = parse_scenario(GOOD + "backends: [sqlite]\n", "tiny.yml")
    assert scenario.explore == ("sqlite",)
    commit = parse_scenario(GOOD + "faults:\n  - {site: sqlite.commit.runtime, kind: torn}\n")
    assert commit.faults[0].kind == "torn"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (GOOD.replace("lanes: [minimal]", "lanes: [nightly]"), 3, "expected one of minimal"),
        (GOOD.replace("  - turn: s1", "  - turn: s9"), 8, "unknown session 's9'"),
        (GOOD.replace("  - turn: s1", "  - fly: s1"), 8, "exactly one action key"),
        (GOOD + "faults:\n  - {site: nowhere, kind: error}\n", 10, "unknown fault site"),
        (GOOD + "faults:\n  - {site: turn.commit, kind: melt}\n", 10, "expected one of error"),
        (GOOD.replace("id: tiny", "id: Tiny!"), 1, "id: expected"),
        (GOOD.replace("pins: nothing\n", ""), 1, "missing required key 'pins'"),
        (GOOD + "colour: red\n", 9, "unknown key 'colour'"),
        (GOOD + "expect:\n  outcomes: {nope: ok}\n", 10, "no step labelled 'nope'"),
        (GOOD + "expect:\n  invariants: [made_up]\n", 10, "unknown checker"),
        ("id: [unclosed\n", 2, "invalid YAML"),
        (GOOD.replace("  - turn: s1", "  - compact: {session: s1, keep_last: -1}"), 8, ">= 0"),
        (GOOD + "faults:\n  - {site: turn.commit, kind: torn}\n", 10, "only at the commit sites"),
        (GOOD + "backends: [memory]\nexplore: [sqlite]\n", 10, "not one of the scenario's"),
    ],
)
def test_errors_name_file_line_and_expectation(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.yml")
    assert info.value.file == "bad.yml"
    assert info.value.line == line, str(info.value)
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"bad.yml:{line}: ")


def test_aliases_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "alias.yml"
    path.write_text(GOOD + "faults: &a []\nexpect: {outcomes: *a}\n")
    with pytest.raises(ScenarioError, match="aliases"):
        load_scenario(path)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "absent.yml")
