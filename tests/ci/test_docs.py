"""Docs stand alone: nothing in the repository's docs, scenarios or mutants cites a file outside
the repository or a path from a development machine, and relative links resolve."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PATH = re.compile(r"(?<![\w.:/~-])(?:/(?:work|home|tmp|root|Users|opt|mnt|srv)/|~/)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATTERNS = ("*.md", "harness/scenarios/*.yml", "harness/mutants/*.py")
RELATIVE = re.compile(r"(?<![\w/.])((?:\.\./)+[\w./-]+)")


def cited_files() -> list[Path]:
    """Tracked docs (every Markdown file), scenarios and mutants."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *PATTERNS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed]


def cited_text(path: Path) -> str:
    """What a file cites: a scenario's ``pins:`` (its steps hold hostile test data such as
    ``../escape`` on purpose), every other file whole."""
    if path.suffix == ".yml":
        from harness.scenario import load_scenario

        return load_scenario(path).pins
    return path.read_text("utf-8")


def problems(path: Path, text: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path.relative_to(ROOT)}:{number}"
        found += [f"{where}: machine path {m.group(0)!r}" for m in MACHINE_PATH.finditer(line)]
        targets = [m.group(1) for m in LINK.finditer(line)]
        targets += [m.group(1) for m in RELATIVE.finditer(line)]
        for target in targets:
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # https://..., mailto:, an anchor
            relative = target.split("#", 1)[0]
            resolved = (path.parent / relative).resolve()
            from_root = (ROOT / relative).resolve()  # docs also name paths from the root
            outside = not resolved.is_relative_to(ROOT) or (
                not resolved.exists() and not from_root.is_relative_to(ROOT)
            )
            if outside:
                found.append(f"{where}: {target} is outside the repository")
            elif target in [m.group(1) for m in LINK.finditer(line)] and not resolved.exists():
                found.append(f"{where}: link {target} does not exist")
    return found


def test_docs_scenarios_and_mutants_cite_only_the_repository() -> None:
    files = cited_files()
    assert ROOT / "README.md" in files and ROOT / "docs" / "bugs.md" in files
    assert any(path.suffix == ".yml" for path in files)
    found = [p for path in files for p in problems(path, cited_text(path))]
    assert found == []


@pytest.mark.parametrize(
    "line",
    [
        "Background: `../shared/reference/session-persistence.md` section 5",
        "see [the notes](../../notes.md)",
        "Tests: `/tmp/venv/bin/pytest -q`",
        "measured in /home/dev/lanes",
        "the clone in ~/src/meerkat",
        "[missing](docs/nope.md)",
    ],
)
def test_the_check_catches_outside_and_machine_paths(line: str) -> None:
    assert problems(ROOT / "docs" / "example.md", line)


def test_the_check_accepts_repository_paths() -> None:
    fine = "[bugs](bugs.md), [ci](../.github/workflows/ci.yml), `/dev/shm`, https://x.invalid/a/b"
    assert problems(ROOT / "docs" / "example.md", fine) == []


LANES_YML_BLOCK = re.compile(r"```yaml\n((?:# lanes\.yml\n)?version: 1\n.*?)```", re.S)


def documented_configurations() -> list[tuple[str, str]]:
    """The ``lanes.yml`` examples of the README and docs/lanes.md (YAML blocks that start with
    ``version: 1``), as (where, text)."""
    found = []
    for name in ("README.md", "docs/lanes.md"):
        text = (ROOT / name).read_text("utf-8")
        found += [(name, match.group(1)) for match in LANES_YML_BLOCK.finditer(text)]
    return found


def test_the_documented_lanes_yml_examples_are_valid_configurations() -> None:
    from lanes.config import ConfigError
    from lanes.config_load import parse_config

    examples = documented_configurations()
    assert {name for name, _ in examples} == {"README.md", "docs/lanes.md"}
    errors = []
    for name, text in examples:
        try:
            config = parse_config(text, name)
        except ConfigError as error:
            errors.append(str(error))
            continue
        assert config.lanes and config.contracts, name  # the examples show both
    assert errors == []


def test_the_example_check_catches_a_contract_naming_no_lane() -> None:
    from lanes.config import ConfigError
    from lanes.config_load import parse_config

    name, text = next(e for e in documented_configurations() if e[0] == "docs/lanes.md")
    broken = text.replace("not: [docs]", "not: [nodocs]", 1)
    assert broken != text
    with pytest.raises(ConfigError, match="unknown lane 'nodocs'"):
        parse_config(broken, name)
