"""Hostile repositories: names and configuration text chosen to forge workflow commands or
drive the terminal. Every command, in every human format, must print them inert: no output
line that a GitHub runner would execute (``::`` after leading blanks) and no raw control
character (newline inside data, CR, ESC, NUL, C1, bidirectional overrides)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from lanes.render import shown
from tests.lanes.fixtures import commit_all, git

EVIL_DIR = "packages/evil\n::error::dir\x1b[31m"
EVIL_NAME = "evil\n::error::name\r\x1b]0;title\x07\u202e"
EVIL_FILE = "packages/ok/\n::error file=x::boom\x00\x9b.js"
CONTRACT_FILE = "packages/ok/\n::error::contract\x1b[2J.js"
TOP_FILE = "::warning::top\x1b[0m"
MARKUP_DIR = "packages/markup"
MARKUP_NAME = "[/]x[red]"
"""A package name that is rich markup (an unbalanced closing tag raises in rich)."""
WRAPPED_FILE = "packages/ok/" + "w" * 70 + " ::error::wrapped " + "v" * 70 + ".js"
"""Printable, but a renderer that wraps long lines at blanks would start a line with ``::``."""
HOSTILE_PATHS = [
    EVIL_FILE.replace("\x00", ""),
    f"{EVIL_DIR}/index.js",
    TOP_FILE,
    "nowhere/\r::x",
    WRAPPED_FILE,
    f"{MARKUP_DIR}/[bold]x[link=y].js",
]
EVIL_SUBJECT = "subject \x1b]0;title\x07 ::error::subject\r::warning::cr"

CONFIG = """\
version: 1
components:
  extra:
    paths: ["packages/evil*/**"]
lanes:
  main:
    description: "d\\n::error::desc\\e[0m"
    roots: [ok]
  other:
    roots: [extra]
    paths: ["packages/ok/*"]
contracts:
  - path: "packages/ok/\\n::error::contract\\e[2J.js"
    selects: [main]
    not: [other]
unmatched: error
"""
BAD_CONFIGS = {
    "key-with-cr": (
        'version: 1\nlanes:\n  main:\n    roots: [ok]\n    "x\\r::error::key\\e[1m": 1\n'
    ),
    "lane-with-newline": 'version: 1\nlanes:\n  "a\\n::error::lane":\n    roots: [ok]\n',
    "value-with-esc": 'version: 1\nunmatched: "\\e]0;t\\a\\n::error::v"\n',
    "glob-with-newline": 'version: 1\nglobal: ["[\\n::error::g"]\n',
}
CONFIG_NAME = "cfg\n::error::file\x1b[31m.yml"


def inert_problems(text: str) -> list[str]:
    """Lines a runner would execute and raw control characters in ``text``."""
    found = []
    for line in text.split("\n"):
        if line.lstrip(" \t").startswith("::"):
            found.append(f"workflow command: {line!r}")
        for char in line:
            if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") and char != "\t":
                found.append(f"raw {char!r} in {line!r}")
    return found


def test_the_detector_itself_finds_what_a_raw_print_would_let_through() -> None:
    assert inert_problems(f"x {EVIL_FILE}\n")
    assert inert_problems(TOP_FILE)
    assert inert_problems(f"ok {shown(EVIL_FILE)} {shown(TOP_FILE)}\n") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[31m\x00\x7f\x9b", "\\x1b[31m\\x00\\x7f\\x9b"),
        ("\u202eevil\u2028", "\\u202eevil\\u2028"),
        ("caf\udce9", "caf\\xe9"),
        ("::error::x", "\\x3a:error::x"),
        ("  ::x", "  \\x3a:x"),
        ("a::b", "a::b"),
        ("plain/path.rs", "plain/path.rs"),
    ],
)
def test_shown_escapes_controls_and_breaks_a_leading_command(text: str, expected: str) -> None:
    assert shown(text) == expected


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An npm workspace whose package name, directory and file names are hostile, with one
    commit changing them (so git-derived paths are hostile too)."""
    repo = tmp_path_factory.mktemp("hostile") / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "package.json").write_text(
        json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]})
    )
    (repo / "packages/ok").mkdir(parents=True)
    (repo / "packages/ok/package.json").write_text(json.dumps({"name": "ok"}))
    (repo / EVIL_DIR).mkdir(parents=True)
    (repo / EVIL_DIR / "package.json").write_text(
        json.dumps({"name": EVIL_NAME, "dependencies": {"ok": "*"}})
    )
    (repo / MARKUP_DIR).mkdir(parents=True)
    (repo / MARKUP_DIR / "package.json").write_text(
        json.dumps({"name": MARKUP_NAME, "dependencies": {"ok": "*"}})
    )
    (repo / "hostile.yml").write_text(CONFIG)
    (repo / CONFIG_NAME).write_text(BAD_CONFIGS["key-with-cr"])
    for name, text in BAD_CONFIGS.items():
        (repo / f"{name}.yml").write_text(text)
    commit_all(repo, "base")
    for path in (*HOSTILE_PATHS[:3], *HOSTILE_PATHS[4:], CONTRACT_FILE):
        (repo / path).write_text("x\n")
    commit_all(repo, EVIL_SUBJECT)
    return repo


def run_lanes(repo: Path, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["LANES_CACHE_DIR"] = str(repo.parent / "cache")
    env.pop("COLUMNS", None)  # rich's default width (80), as on a CI runner: long lines wrap
    done = subprocess.run(
        [sys.executable, "-m", "lanes.cli", *args],
        cwd=repo,
        input=stdin,
        capture_output=True,
        env=env,
        check=False,
    )
    out = done.stdout.decode("utf-8", "surrogateescape")
    return done.returncode, out, done.stderr.decode("utf-8", "surrogateescape")


STDIN = "\0".join(HOSTILE_PATHS).encode("utf-8", "surrogateescape")

COMMANDS: dict[str, tuple[list[str], bytes]] = {
    **{
        f"detect-{fmt}": (["detect", "--paths-from-stdin", "--format", fmt], STDIN)
        for fmt in ("text", "markdown", "json", "github")
    },
    "detect-git-text": (["detect", "--base", "HEAD~1", "--format", "text"], b""),
    "detect-git-markdown": (["detect", "--base", "HEAD~1", "--format", "markdown"], b""),
    "explain": (["explain", *HOSTILE_PATHS], b""),
    "explain-json": (["explain", "--format", "json", *HOSTILE_PATHS], b""),
    "graph-mermaid": (["graph", "--format", "mermaid"], b""),
    "graph-dot": (["graph", "--format", "dot"], b""),
    "graph-json": (["graph", "--format", "json"], b""),
    "check": (["check"], b""),
    **{
        f"audit-{audit}-{fmt}": (["audit", audit, *extra, "--format", fmt], b"")
        for audit, extra in (
            ("coverage", []),
            ("history", ["HEAD~1..HEAD"]),
            ("release", ["HEAD~1..HEAD"]),
        )
        for fmt in ("text", "markdown", "json", "html")
    },
}


@pytest.mark.parametrize("config", [None, "hostile.yml"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_prints_hostile_names_inert(
    hostile: Path, command: str, config: str | None
) -> None:
    args, stdin = COMMANDS[command]
    extra = ["--config", config] if config else []
    code, out, err = run_lanes(hostile, *args, *extra, stdin=stdin)

    assert "internal error" not in err, err
    assert code in (0, 1), err
    assert out.strip() or err.strip()
    assert inert_problems(out) == []
    assert inert_problems(err) == []


def test_the_hostile_names_reach_the_output_escaped(hostile: Path) -> None:
    code, out, _ = run_lanes(hostile, "explain", f"{EVIL_DIR}/index.js")

    assert code == 0
    assert shown(EVIL_NAME) in out and shown(EVIL_DIR) in out


def test_check_reports_the_hostile_contract_path_escaped(hostile: Path) -> None:
    _, out, err = run_lanes(hostile, "check", "--config", "hostile.yml")

    assert shown(CONTRACT_FILE) in out + err
    assert inert_problems(out + err) == []


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_config_errors_print_hostile_keys_and_values_inert(hostile: Path, name: str) -> None:
    code, out, err = run_lanes(hostile, "check", "--config", f"{name}.yml")

    assert code == 2, err
    assert f"{name}.yml:" in err and "internal error" not in err
    assert inert_problems(err) == [] and inert_problems(out) == []


def test_a_hostile_config_file_name_is_printed_inert(hostile: Path) -> None:
    code, _, err = run_lanes(hostile, "detect", "--config", CONFIG_NAME, stdin=b"x\n")

    assert code == 2
    assert shown(CONFIG_NAME) in err
    assert inert_problems(err) == []
