"""Shared pieces of the ``lanes audit`` tests: configurations, the legacy detector, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.lanes.fixtures import CARGO_CRATES, cargo_workspace, commit_all, git, write_files

MAIN = "import sys; from lanes.cli import main; sys.exit(main(sys.argv[1:]))"

AUDIT_YML = """\
version: 1
global: ["Cargo.lock", "Cargo.toml", "rust-toolchain.toml", ".github/workflows/**", "lanes.yml"]
ignore: ["docs/**", "**/*.md", "crates/experimental/**"]
lanes:
  sdk:
    roots: [meerkat-rpc, meerkat-http]
    include_dev: true
    paths: ["sdks/**"]
    run: make sdk
  minimal:
    roots: [rkat]
    run: make minimal
  feature:
    roots: [meerkat]
    include_optional: true
    run: make feature
  wasm:
    roots: [meerkat-wasm]
    run: make wasm
  rest:
    roots: [EVERYTHING]
    run: make rest
contracts:
  - path: meerkat-session/src/persistent.rs
    selects: [sdk, minimal, feature]
    not: [wasm]
""".replace(
    "EVERYTHING", ", ".join([*(crate.name for crate in CARGO_CRATES), "meerkat-experimental"])
)
"""A configuration under which the Cargo fixture is fully covered: no finding at all."""

LEGACY_DETECTOR = """\
#!/usr/bin/env bash
# The hand-written detector lanes replaces: one case statement over path globs, lists kept by
# hand. Nobody remembered meerkat-session (the crate behind the SDK, the facade and the CLI).
set -euo pipefail
sdk=false; minimal=false; feature=false; wasm=false; rest=false
while IFS= read -r path; do
  case "$path" in
    Cargo.lock|Cargo.toml|rust-toolchain.toml|lanes.yml|.github/workflows/*)
      sdk=true; minimal=true; feature=true; wasm=true; rest=true ;;
    sdks/*) sdk=true ;;
    meerkat-rpc/*) sdk=true; minimal=true; rest=true ;;
    meerkat-http/*) sdk=true; rest=true ;;
    meerkat-wasm/*) wasm=true; rest=true ;;
    docs/*|*.md) ;;
  esac
done
echo "sdk_changed=$sdk"
echo "minimal_changed=$minimal"
echo "feature_changed=$feature"
# like a GitHub Actions step, part of the outputs go to $GITHUB_OUTPUT
echo "wasm_changed=$wasm" >> "$GITHUB_OUTPUT"
echo "rest_changed=$rest" >> "$GITHUB_OUTPUT"
"""

LEGACY_MAP = (
    "sdk_changed=sdk,minimal_changed=minimal,feature_changed=feature,"
    "wasm_changed=wasm,rest_changed=rest"
)

#: (subject, changed files) of the commits made on top of the fixture, oldest first.
HISTORY: tuple[tuple[str, dict[str, str]], ...] = (
    ("wasm: smaller bundle", {"meerkat-wasm/src/lib.rs": "// smaller\n"}),
    ("sdk: python retries", {"sdks/python/meerkat_sdk/__init__.py": '"""retries"""\n'}),
    ("session: fix persistence", {"meerkat-session/src/persistent.rs": "// fsync\n"}),
    ("rpc: new method", {"meerkat-rpc/src/lib.rs": "pub fn method() {}\n"}),
    ("docs: architecture", {"docs/architecture.md": "# Architecture v2\n"}),
    ("bump the lockfile", {"Cargo.lock": "# regenerated\n"}),
)


def history_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """The Cargo fixture with :data:`AUDIT_YML` and the :data:`HISTORY` commits on top;
    returns the repository and subject -> sha."""
    repo = cargo_workspace(root, extra={"lanes.yml": AUDIT_YML})
    shas = {}
    for subject, files in HISTORY:
        write_files(repo, files)
        shas[subject] = commit_all(repo, subject)
    return repo, shas


def clone_of(template: Path, directory: Path) -> Path:
    """A fresh clone of a module-scoped template repository, for one test to change."""
    clone = directory / "repo"
    git(directory, "clone", "-q", str(template), str(clone))
    return clone


def by_subject(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A history audit's JSON commits by subject."""
    return {commit["subject"]: commit for commit in data["commits"]}


def write_detector(directory: Path) -> Path:
    script = directory / "legacy-detector.sh"
    script.write_text(LEGACY_DETECTOR, encoding="utf-8")
    script.chmod(0o755)
    return script


def lanes(repo: Path, *args: str, cache: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``lanes`` process in ``repo``.

    Through ``lanes.cli.main`` rather than ``python -m lanes.cli``: run as ``__main__`` the CLI
    module would hold a second ``UsageError`` class, and usage errors would exit 1, not 2.
    """
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "LANES_CACHE_DIR": str(cache or repo / ".git" / "audit-cache")},
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=300,
    )


def lanes_json(repo: Path, *args: str, expect: int = 0) -> Any:
    result = lanes(repo, *args, "--format", "json")
    assert result.returncode == expect, result.stdout + result.stderr
    return json.loads(result.stdout)
