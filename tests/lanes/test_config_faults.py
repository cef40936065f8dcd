"""Configuration faults in real repositories: each is a clean error (exit 2, ``file:line:column``,
what was expected) or a failing check, never a quiet success with fewer lanes and never an
internal error."""

from __future__ import annotations

import json
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
    "escape-out-of-range": (
        LANES.encode() + b'global: ["\\U99999999"]\n',
        "lanes.yml:5:13: invalid YAML: a value or escape it cannot represent",
    ),
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


# --- output names -----------------------------------------------------------------------------

RESERVED = ["mode", "lanes", "matrix", "reasons", "diff", "flags", "count", "Mode", "MATRIX"]


@pytest.mark.parametrize("name", RESERVED)
def test_a_lane_named_after_a_reserved_output_is_a_config_error(tmp_path: Path, name: str) -> None:
    repo = make_repo(tmp_path)
    (repo / "lanes.yml").write_text(
        f"version: 1\nlanes:\n  app:\n    roots: [app]\n  {name}:\n    roots: [core]\n"
    )

    code, out, err = run_lanes(repo, *DETECT)

    assert code == 2, (out, err)
    assert err.startswith(f"lanes: error: lanes.yml:5:3: lanes.{name}: reserved"), err


def test_lanes_alike_but_for_case_are_a_config_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "lanes.yml").write_text(
        "version: 1\nlanes:\n  app:\n    roots: [app]\n  App:\n    roots: [core]\n"
    )

    code, _, err = run_lanes(repo, "check")

    assert code == 2
    assert err.startswith("lanes: error: lanes.yml:5:3: lanes.App: same GitHub output name as")


def read_github_output(path: Path) -> dict[str, str]:
    """Parse ``name<<DELIMITER`` heredoc entries the way the runner does; a name seen twice is
    a collision and fails the test."""
    values: dict[str, str] = {}
    lines = path.read_text().split("\n")
    index = 0
    while index < len(lines) and lines[index]:
        name, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        assert name not in values, f"output {name!r} written twice"
        values[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return values


def test_without_a_config_clashing_component_names_get_distinct_output_keys(
    tmp_path: Path,
) -> None:
    names = {"a.b": "p1", "a_b": "p2", "mode": "p3", "Lanes": "p4", "@x/a.b": "p5"}
    files = {"package.json": '{"name": "root", "private": true, "workspaces": ["p*"]}'}
    files.update({f"{d}/package.json": f'{{"name": "{n}"}}' for n, d in names.items()})
    files.update({f"{d}/index.js": "\n" for d in names.values()})
    repo = make_repo(tmp_path, files)
    output = tmp_path / "github_output"
    output.write_text("")

    done = subprocess.run(
        [sys.executable, "-m", "lanes.cli", "detect", "--paths-from-stdin", "--format", "github"],
        cwd=repo,
        input=b"p1/index.js\n",
        capture_output=True,
        env={**os.environ, "LANES_CACHE_DIR": str(tmp_path / "c"), "GITHUB_OUTPUT": str(output)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = read_github_output(output)
    _, out, _ = run_lanes(repo, *DETECT, stdin="p1/index.js\n")
    keys = json.loads(out)["outputs"]

    assert keys == {
        "@x/a.b": "_x_a_b",
        "Lanes": "Lanes_2",
        "a.b": "a_b_2",
        "a_b": "a_b",
        "mode": "mode_2",
        "root": "root",
    }
    lowered = [key.lower() for key in values]
    assert len(lowered) == len(set(lowered))
    assert values["a_b_2"] == "true"
    assert values["a_b"] == values["mode_2"] == values["Lanes_2"] == "false"
    assert values["mode"] == "precise"
    assert json.loads(values["lanes"]) == ["a.b"]
    _, text, _ = run_lanes(repo, "detect", "--paths-from-stdin", "--format", "text", stdin="p1/x\n")
    assert "output keys (names not usable as GitHub outputs): @x/a.b -> _x_a_b, Lanes -> " in text
    assert "a.b -> a_b_2" in text and "mode -> mode_2" in text


# --- contracts on paths that do not exist -----------------------------------------------------


def contract_config(path: str, extra: str = "") -> str:
    return (
        "version: 1\nlanes:\n  app:\n    roots: [app]\n    paths: ['tools/**']\n"
        "    run: git status\n"
        "  core:\n    roots: [core]\n    run: git status\n"
        f"contracts:\n  - path: {path}\n    selects: [app]\n{extra}"
    )


@pytest.mark.parametrize(
    ("path", "extra", "code", "message"),
    [
        ("app/src/main.rs", "", 0, "ok   lanes.yml:11: app/src/main.rs -> app"),
        ("app/src/mian.rs", "", 1, "FAIL lanes.yml:11: app/src/mian.rs matches no tracked file"),
        ("nowhere/x.rs", "", 1, "FAIL lanes.yml:11: nowhere/x.rs matches no tracked file and no"),
        ("nowhere/x.rs", "    exists: false\n", 0, "ok   lanes.yml:11: nowhere/x.rs -> app, core"),
        ("app/src/main.rs", "    exists: false\n", 1, "says exists: false but the path is tracked"),
        ("tools/new.py", "", 0, "ok   lanes.yml:11: tools/new.py -> app"),
    ],
)
def test_a_contract_must_name_a_real_path_or_say_exists_false(
    tmp_path: Path, path: str, extra: str, code: int, message: str
) -> None:
    repo = make_repo(tmp_path, {**CRATES, "lanes.yml": contract_config(path, extra)})

    result, out, err = run_lanes(repo, "check")

    assert result == code, (out, err)
    assert message in out


def test_a_contract_fails_once_its_file_is_renamed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**CRATES, "lanes.yml": contract_config("app/src/main.rs")})
    assert run_lanes(repo, "check")[0] == 0

    git(repo, "mv", "app/src/main.rs", "app/src/bin.rs")
    commit_all(repo, "rename")
    code, out, _ = run_lanes(repo, "check")

    assert code == 1
    assert "app/src/main.rs matches no tracked file" in out


def test_a_contract_path_only_a_glob_names_passes_with_a_warning(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**CRATES, "lanes.yml": contract_config("tools/new.py")})

    code, _, err = run_lanes(repo, "check")

    assert code == 0
    assert "warn lanes.yml: line 11: tools/new.py is not a tracked file" in err


def test_exists_must_be_a_boolean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {**CRATES, "lanes.yml": contract_config("x", "    exists: no?\n")})

    code, _, err = run_lanes(repo, "check")

    assert code == 2
    assert "lanes.yml:13:13: contracts[0].exists: expected true or false" in err
