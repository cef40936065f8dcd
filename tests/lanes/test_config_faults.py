"""Configuration faults in real repositories: each is a clean error (exit 2, ``file:line:column``,
what was expected) or a failing check, never a quiet success with fewer lanes and never an
internal error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lanes.fixtures import commit_all, git

CRATES = {
    "Cargo.toml": '[workspace]\nmembers = ["core", "app"]\n',
    "core/Cargo.toml": '[package]\nname = "core"\n',
    "core/src/lib.rs": "\n",
    "app/Cargo.toml": '[package]\nname = "app"\n\n[dependencies]\ncore = { path = "../core" }\n',
    "app/src/main.rs": "\n",
}
LANES = "version: 1\nlanes:\n  app:\n    roots: [app]\n"


def make_repo(root: Path, files: dict[str, str] | None = None) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for relative, text in (CRATES if files is None else files).items():
        (repo / relative).parent.mkdir(parents=True, exist_ok=True)
        (repo / relative).write_text(text)
    commit_all(repo, "init")
    return repo


def run_lanes(repo: Path, *args: str, stdin: str = "core/src/lib.rs\n") -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "lanes.cli", *args],
        cwd=repo,
        input=stdin.encode(),
        capture_output=True,
        env={**os.environ, "LANES_CACHE_DIR": str(repo.parent / "cache")},
        check=False,
        timeout=60,
    )
    decode: Callable[[bytes], str] = lambda data: data.decode("utf-8", "replace")  # noqa: E731
    return done.returncode, decode(done.stdout), decode(done.stderr)


DETECT = ("detect", "--paths-from-stdin", "--format", "json")


def _dangling(repo: Path) -> None:
    (repo / "lanes.yml").symlink_to("missing.yml")


def _loop(repo: Path) -> None:
    (repo / "lanes.yml").symlink_to("lanes.yml")


def _directory(repo: Path) -> None:
    (repo / "lanes.yml").mkdir()


def _fifo(repo: Path) -> None:
    os.mkfifo(repo / "lanes.yml")


def _device(repo: Path) -> None:
    (repo / "lanes.yml").symlink_to(os.devnull)


NOT_REGULAR = {
    "dangling-symlink": (_dangling, "is a dangling symbolic link"),
    "symlink-loop": (_loop, "is a symbolic link loop"),
    "directory": (_directory, "is a directory"),
    "fifo": (_fifo, "is a FIFO"),
    "device": (_device, "is a character device"),
}


@pytest.mark.parametrize("command", ["detect", "check", "explain", "graph"])
@pytest.mark.parametrize("fault", sorted(NOT_REGULAR))
def test_a_lanes_yml_that_is_not_a_regular_file_is_a_config_error(
    tmp_path: Path, fault: str, command: str
) -> None:
    repo = make_repo(tmp_path)
    make, message = NOT_REGULAR[fault]
    make(repo)
    args = {"detect": DETECT, "explain": ("explain", "core/src/lib.rs")}.get(command, (command,))

    code, out, err = run_lanes(repo, *args)

    assert code == 2, (out, err)
    assert f"lanes: error: lanes.yml: {message}" in err
    assert out == ""


NO_LANES = {
    "config-without-lanes": ({**CRATES, "lanes.yml": "version: 1\n"}, "lanes.yml:1:1: lanes:"),
    "config-with-empty-lanes": (
        {**CRATES, "lanes.yml": "version: 1\nlanes: {}\n"},
        "lanes.yml:2:1: lanes:",
    ),
    "components-but-no-lanes": (
        {**CRATES, "lanes.yml": "version: 1\ncomponents:\n  docs:\n    paths: [docs/**]\n"},
        "lanes.yml:1:1: lanes:",
    ),
    "no-config-no-manifest": ({"README.md": "# nothing\n", "src/x.c": "\n"}, "lanes.yml: absent"),
}


@pytest.mark.parametrize("case", sorted(NO_LANES))
def test_nothing_defines_a_lane_detect_errors_and_check_fails(tmp_path: Path, case: str) -> None:
    files, where = NO_LANES[case]
    repo = make_repo(tmp_path, files)

    code, out, err = run_lanes(repo, *DETECT)
    assert code == 2, (out, err)
    assert where in err
    assert "nothing defines a lane" in err or "no lane is defined" in err
    assert out == ""

    code, out, err = run_lanes(repo, "check")
    assert code == 1, (out, err)
    assert "FAIL" in out and "1 failure(s)" in err


DEEP_FLOW = "version: 1\nglobal: " + "[" * 1000 + "]" * 1000 + "\n"
DEEP_BLOCK = "version: 1\nlanes:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(1000))
BAD_TEXT: dict[str, tuple[bytes, str]] = {
    "hex-version": (b"version: 0x1\n", "lanes.yml:1:10: version: expected a plain decimal"),
    "binary-version": (b"version: 0b1\n", "lanes.yml:1:10: version: expected a plain decimal"),
    "sexagesimal-version": (b"version: 1:00\n", "lanes.yml:1:10: version: expected a plain"),
    "octal-version": (b"version: 01\n", "lanes.yml:1:10: version: expected a plain decimal"),
    "huge-number": (b"version: " + b"1" * 5000 + b"\n", "lanes.yml:1:10: version: expected"),
    "deep-flow": (DEEP_FLOW.encode(), "lanes.yml:2:40: invalid YAML: nested deeper than 32"),
    "deep-block": (DEEP_BLOCK.encode(), "lanes.yml:33:63: invalid YAML: nested deeper than 32"),
    "nul-byte": (LANES.encode() + b"x: \x00\n", "lanes.yml:5:4: invalid YAML: character #x0000"),
    "control-byte": (
        b"version: 1\nglobal: [a\x01]\n",
        "lanes.yml:2:11: invalid YAML: character #x000",
    ),
    "not-utf8": (LANES.encode() + b"# caf\xe9\n", "lanes.yml:5:6: not UTF-8 (byte 0xe9)"),
    "empty-class": (LANES.encode() + b"global: ['[]']\n", "lanes.yml:5:10: global[0]: expected a"),
    "reversed-range": (LANES.encode() + b"global: ['[z-a]']\n", "lanes.yml:5:10: global[0]"),
    "posix-class": (LANES.encode() + b"ignore: ['[[:alpha:]]']\n", "lanes.yml:5:10: ignore[0]"),
}


@pytest.mark.parametrize("command", ["detect", "check"])
@pytest.mark.parametrize("case", sorted(BAD_TEXT))
def test_bad_config_text_is_a_located_config_error(tmp_path: Path, case: str, command: str) -> None:
    repo = make_repo(tmp_path)
    text, where = BAD_TEXT[case]
    (repo / "lanes.yml").write_bytes(text)

    code, out, err = run_lanes(repo, *(DETECT if command == "detect" else ("check",)))

    assert code == 2, (out, err)
    assert err.startswith(f"lanes: error: {where}"), err
    assert re.fullmatch(r"lanes: error: lanes\.yml:\d+:\d+: [^\n]+\n", err), err
    assert "Warning" not in err and out == ""


def test_a_symlink_to_a_regular_config_still_loads(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "ci").mkdir()
    (repo / "ci/lanes.yml").write_text(LANES)
    (repo / "lanes.yml").symlink_to("ci/lanes.yml")

    code, out, err = run_lanes(repo, *DETECT)

    assert code == 0, err
    assert '"app": true' in out
