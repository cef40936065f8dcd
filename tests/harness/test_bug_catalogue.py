"""docs/bugs.md is the catalogue the scenarios and mutants pin: stable ids, every reference
resolves, nothing cites the catalogue by anything but its ids."""

from __future__ import annotations

import re
from pathlib import Path

from harness.mutants import MUTANTS
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parents[2]
BUG_ID = re.compile(r"\bbug-(\d\d)\b")


def catalogue() -> list[str]:
    text = (ROOT / "docs" / "bugs.md").read_text("utf-8")
    return re.findall(r"^### (bug-\d\d)$", text, flags=re.M)


def test_ids_are_unique_and_numbered_without_gaps() -> None:
    ids = catalogue()
    assert ids == [f"bug-{n:02d}" for n in range(1, len(ids) + 1)]
    assert len(ids) >= 22


def test_every_scenario_pins_catalogued_bugs() -> None:
    known = set(catalogue())
    for scenario in load_all():
        pinned = {f"bug-{n}" for n in BUG_ID.findall(scenario.pins)}
        assert pinned, f"{scenario.file}: pins names no docs/bugs.md id"
        assert pinned <= known, f"{scenario.file}: unknown {sorted(pinned - known)}"
        assert not re.search(r"\bBug \d", scenario.pins), scenario.file  # the old numbering


def test_every_mutant_names_its_catalogued_bug() -> None:
    known = set(catalogue())
    for mutant in MUTANTS:
        match = re.match(r"(bug-\d\d): ", mutant.bug)
        assert match, f"mutant {mutant.name}: bug must start with 'bug-NN: '"
        assert match.group(1) in known, mutant.name


def test_the_scenario_and_mutant_check_rejects_a_wrong_id() -> None:
    known = set(catalogue())
    assert "bug-99" not in known and not BUG_ID.findall("Bug 7 (audit)")
