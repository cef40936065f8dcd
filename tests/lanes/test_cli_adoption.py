"""The command line as a new user meets it: formats that cannot be combined are errors, paths
are taken the way a shell completes them, output is plain text, and typos get suggestions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import lanes, parse_github_output

CONFIG = """\
version: 1
discover: []
components:
  core: {paths: ["core/**"]}
  app: {paths: ["app/**"], depends_on: [core]}
lanes:
  unit: {roots: [core], run: "make unit"}
  apps: {roots: [app], run: "make apps"}
"""


def make_repo(tmp_path: Path, config: str = CONFIG) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(
        repo,
        {"lanes.yml": config, "core/lib.py": "", "app/main.py": "", "app/sub/deep.py": ""},
    )
    commit_all(repo, "init")
    return repo


def run_in(cwd: Path, *args: str, repo: Path | None = None) -> subprocess.CompletedProcess[str]:
    cache = (repo or cwd) / ".cache"
    return subprocess.run(
        [sys.executable, "-m", "lanes.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "LANES_CACHE_DIR": str(cache)},
        check=False,
    )


def test_github_format_with_output_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = lanes(repo, "detect", "--paths-from-stdin", "--format", "github", "--output", "x.txt")
    assert result.returncode == 2
    assert "--output cannot be used with --format github" in result.stderr
    assert "GITHUB_OUTPUT=FILE" in result.stderr
    assert not (repo / "x.txt").exists() and result.stdout == ""


def test_explain_takes_absolute_cwd_relative_and_directory_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)

    def first_line(cwd: Path, path: str) -> str:
        result = run_in(cwd, "explain", path, repo=repo)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[0]

    expected = "app/main.py: matched, owned by app (paths app/**)"
    assert first_line(repo, "app/main.py") == expected
    assert first_line(repo, "./app/main.py") == expected
    assert first_line(repo, str(repo / "app" / "main.py")) == expected
    assert first_line(repo / "app", "main.py") == expected
    assert first_line(repo / "app" / "sub", "../main.py") == expected
    assert first_line(repo / "app", "app/main.py") == expected  # repository-relative still works
    assert first_line(repo, "app") == "app/: matched, owned by app (paths app/**)"
    assert first_line(repo / "app", "sub") == "app/sub/: matched, owned by app (paths app/**)"
    data = json.loads(run_in(repo / "app", "explain", "main.py", "--format", "json").stdout)
    assert data[0]["path"] == "app/main.py" and data[0]["given"] == "main.py"
    assert data[0]["selects"].keys() == {"apps"}


def test_explain_outside_the_repository_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (tmp_path / "elsewhere.py").write_text("")
    result = lanes(repo, "explain", str(tmp_path / "elsewhere.py"))
    assert result.returncode == 2 and "outside the repository" in result.stderr


def test_explain_suggests_a_name_for_a_path_that_does_not_exist(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = lanes(repo, "explain", "app/mian.py", "unti")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("(no such file; did you mean app/main.py?)")
    assert "unti: unmatched, no owner (no such file; did you mean unit?)" in lines


def test_graph_mermaid_labels_each_component_with_its_lanes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = lanes(repo, "graph", "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    assert '["core<br/>[apps, unit]"]' in result.stdout
    assert '["app<br/>[apps]"]' in result.stdout


def test_text_output_has_no_python_reprs_and_lists_the_changed_paths(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"core/lib.py": "X = 1\n", "app/new.py": "NEW = 1\n"})
    commit_all(repo, "change")
    result = lanes(repo, "detect", "--base", base, "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "['" not in result.stdout and "True" not in result.stdout, result.stdout
    assert f"merge_bases={base}" in result.stdout
    assert "changed (2 paths): app/new.py, core/lib.py" in result.stdout
    data = json.loads(lanes(repo, "detect", "--base", base, "--format", "json").stdout)
    assert data["changed"] == 2 and data["paths"] == ["app/new.py", "core/lib.py"]
    markdown = lanes(repo, "detect", "--base", base, "--format", "markdown").stdout
    assert "**Changed paths:** 2" in markdown


def test_changed_paths_list_is_bounded_and_escapes_control_characters(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    paths = "".join(f"core/f{i:02}.py\0" for i in range(25)) + "core/bad\x1b[31m.py\0"
    result = lanes(repo, "detect", "--paths-from-stdin", stdin=paths.encode())
    assert result.returncode == 0, result.stderr
    assert "changed (26 paths): core/bad\\x1b[31m.py, core/f00.py" in result.stdout
    assert "(+6 more: --format json lists them all)" in result.stdout
    changed = next(line for line in result.stdout.splitlines() if line.startswith("changed"))
    assert "\x1b" not in changed  # (the table's escaping is lanes.outputs' own business)


def test_unmatched_error_fills_reasons(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, CONFIG.replace("lanes:\n", "unmatched: error\nlanes:\n"))
    stdin = b"stray/file.txt\n"
    result = lanes(repo, "detect", "--paths-from-stdin", "--format", "json", stdin=stdin)
    assert result.returncode == 1
    assert "(unmatched: error): stray/file.txt" in result.stderr and "'" not in result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "fail-safe" and data["selected"] == ["unit", "apps"]
    for lane in ("unit", "apps"):
        assert {"code": "unmatched-error", "path": "stray/file.txt"} in data["reasons"][lane]
    output = tmp_path / "github-output"
    github = lanes(
        repo,
        "detect",
        "--paths-from-stdin",
        "--format",
        "github",
        stdin=stdin,
        env={"GITHUB_OUTPUT": str(output)},
    )
    assert github.returncode == 1
    reasons = json.loads(parse_github_output(output.read_text())["reasons"])
    assert reasons["unit"] == [{"code": "unmatched-error", "path": "stray/file.txt"}]


def test_mistyped_subcommands_options_and_choices_get_suggestions(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    cases = {
        ("detcet",): "(did you mean detect?)",
        (
            "detect",
            "--fromat",
            "json",
        ): "unrecognized arguments: --fromat json (did you mean --format?)",
        ("detect", "--format", "jsn"): "(did you mean json?)",
        ("graph", "--formt=dot"): "(did you mean --format?)",
        ("--no-cache", "detect"): (
            "unrecognized arguments: --no-cache (--no-cache is an option of detect, explain,"
            " graph, check, audit: give it after the command)"
        ),
    }
    for args, hint in cases.items():
        result = lanes(repo, *args)
        assert result.returncode == 2, args
        assert hint in result.stderr, (args, result.stderr)
    unrelated = lanes(repo, "zzzz")
    assert unrelated.returncode == 2 and "did you mean" not in unrelated.stderr


def test_version(tmp_path: Path) -> None:
    from lanes import __version__

    result = lanes(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"lanes {__version__}"


def test_mistyped_lanes_and_conditions_get_suggestions(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_files(repo, {"old.sh": "#!/bin/sh\ncat >/dev/null\necho unit_changed=true\n"})
    (repo / "old.sh").chmod(0o755)
    commit_all(repo, "detector")
    mapped = lanes(
        repo,
        "audit",
        "history",
        "HEAD~1..HEAD",
        "--against-command",
        str(repo / "old.sh"),
        "--against-map",
        "unit_changed=unti",
    )
    assert mapped.returncode == 2
    assert "unknown lane 'unti' (did you mean unit?" in mapped.stderr, mapped.stderr
    for audit, typo, meant in (
        ("history", "mised", "missed"),
        ("coverage", "uncoverd", "uncovered"),
    ):
        args = ["audit", audit, *(["HEAD~1..HEAD"] if audit == "history" else [])]
        result = lanes(repo, *args, "--fail-on", typo)
        assert result.returncode == 2
        assert f"unknown condition(s) {typo} (did you mean {meant}?)" in result.stderr, (
            result.stderr
        )
    contract = CONFIG + "contracts:\n  - path: core/lib.py\n    selects: [unti]\n"
    write_files(repo, {"lanes.yml": contract})
    checked = lanes(repo, "check")
    assert checked.returncode == 2
    assert "unknown lane 'unti' (did you mean unit?)" in checked.stderr, checked.stderr


def test_explain_says_plainly_why_a_lane_without_roots_is_not_selected(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, CONFIG + '  docs: {paths: ["docs/**"], run: "make docs"}\n')
    result = lanes(repo, "explain", "app/main.py")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("  - docs:"))
    assert line == "  - docs: lane docs has no roots and none of its paths matches", line
    unit = next(line for line in result.stdout.splitlines() if line.startswith("  - unit:"))
    assert "owner app is not among the 1 components lane unit covers from its roots (core)" in unit


def test_help_states_the_default_format_detect_uses(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    helped = lanes(repo, "detect", "--help")
    assert helped.returncode == 0
    assert "text (the default)" in helped.stdout and "terminal" not in helped.stdout
    # Not on a terminal (captured output), no --format: still text, as the help says.
    plain = lanes(repo, "detect", "--paths-from-stdin", stdin=b"core/lib.py\n")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("2 of 2 lanes selected (precise)"), plain.stdout


def test_each_audit_says_what_it_does_and_its_exit_codes(tmp_path: Path) -> None:
    for audit, words in (
        ("coverage", "every tracked file -> owner -> lanes"),
        ("history", "replay commits A..B"),
        ("release", "one report for a release A..B"),
    ):
        helped = lanes(tmp_path, "audit", audit, "--help")
        assert helped.returncode == 0, helped.stderr
        head = helped.stdout.split("options:", 1)[0]
        assert words in head, (audit, helped.stdout)
        assert "exit codes: 0 ok, 1 a --fail-on condition holds" in helped.stdout, audit
