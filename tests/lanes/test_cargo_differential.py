"""Differential tests: lanes' Cargo graph and coverage against cargo's own view.

On seeded generated workspaces (``tests/lanes/cargo_gen.py``):

* components and edges (source, target, kind, optional, rename, features, default-features)
  against ``cargo metadata --offline --no-deps --format-version 1``;
* coverage: for every crate as a lane root with its default features, every workspace crate
  ``cargo tree -p <crate> -e normal,build,dev --target all`` shows (what ``cargo build`` and
  ``cargo test`` of it compile, on any target) is covered by lanes (0 under-selections).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lanes.discovery import cargo as cargo_discovery
from lanes.model import LOCKFILE_EDGE
from lanes.workspace import load_workspace
from tests.lanes import cargo_gen

CARGO = shutil.which("cargo")
pytestmark = pytest.mark.skipif(
    CARGO is None, reason="cargo is not installed: nothing to compare lanes' Cargo graph with"
)
SEEDS = (1, 2, 3, 4)

EdgeRow = tuple[str, str, str, bool, str, frozenset[str], bool]


def run_cargo(repo: Path, *args: str) -> str:
    assert CARGO is not None
    env = {**os.environ, "CARGO_NET_OFFLINE": "true", "CARGO_TARGET_DIR": str(repo / "target")}
    result = subprocess.run(
        [CARGO, *args, "--offline"], cwd=repo, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, f"cargo {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed{seed}")
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp(f"cargo-gen-{request.param}")
    cargo_gen.write(cargo_gen.generate(request.param), repo)
    run_cargo(repo, "generate-lockfile")
    return repo


def cargo_metadata(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        run_cargo(repo, "metadata", "--no-deps", "--format-version", "1")
    )
    return data


def member_directories(repo: Path, metadata: dict[str, Any]) -> dict[str, str]:
    """Package name -> repository-relative directory of every workspace member."""
    real = os.path.realpath(repo)
    found = {}
    for package in metadata["packages"]:
        directory = os.path.relpath(os.path.dirname(package["manifest_path"]), real)
        found[package["name"]] = "" if directory == "." else directory.replace(os.sep, "/")
    return found


def merge(rows: list[EdgeRow]) -> set[EdgeRow]:
    """Entries of one dependency in several tables merged as lanes merges them."""
    merged: dict[tuple[str, str, str, str], EdgeRow] = {}
    for row in rows:
        key = (row[0], row[1], row[2], row[4])
        seen = merged.get(key)
        if seen is not None:
            row = (*key[:3], seen[3] and row[3], key[3], seen[5] | row[5], seen[6] or row[6])
        merged[key] = row
    return set(merged.values())


def cargo_edges(repo: Path, metadata: dict[str, Any]) -> set[EdgeRow]:
    real = os.path.realpath(repo)
    by_directory = {os.path.dirname(p["manifest_path"]): p["name"] for p in metadata["packages"]}
    rows: list[EdgeRow] = []
    for package in metadata["packages"]:
        for dep in package["dependencies"]:
            if "path" not in dep:
                continue
            target = by_directory.get(os.path.realpath(dep["path"]))
            assert target is not None, f"{dep['path']} is no member ({real})"
            rows.append(
                (
                    package["name"],
                    target,
                    dep["kind"] or "normal",
                    dep["optional"],
                    dep["rename"] or "",
                    frozenset(dep["features"]),
                    dep["uses_default_features"],
                )
            )
    return merge(rows)


def test_components_match_cargo_metadata(generated: Path) -> None:
    metadata = cargo_metadata(generated)
    found = cargo_discovery.parse(generated, cargo_discovery.locate(generated))
    assert found.errors == []
    assert {c.name: c.directory for c in found.components} == member_directories(
        generated, metadata
    )
    assert any(d.startswith("vendor/") for d in member_directories(generated, metadata).values())


def test_features_match_cargo_metadata(generated: Path) -> None:
    metadata = cargo_metadata(generated)
    found = cargo_discovery.parse(generated, cargo_discovery.locate(generated))
    ours = {c.name: dict(c.features) for c in found.components}
    for package in metadata["packages"]:
        theirs = {k: tuple(v) for k, v in package["features"].items()}
        # cargo lists the implicit feature of each optional dependency no ``dep:`` names.
        implicit = {k for k, v in theirs.items() if k not in ours[package["name"]]}
        assert all(theirs[k] == (f"dep:{k}",) for k in implicit), package["name"]
        assert {k: v for k, v in theirs.items() if k not in implicit} == ours[package["name"]]


def test_edges_match_cargo_metadata(generated: Path) -> None:
    metadata = cargo_metadata(generated)
    found = cargo_discovery.parse(generated, cargo_discovery.locate(generated))
    ours = {
        (e.source, e.target, e.kind, e.optional, e.dep, frozenset(e.features), e.default_features)
        for e in found.edges
    }
    assert not any(e.dep.startswith(LOCKFILE_EDGE) for e in found.edges)  # the lock agrees
    theirs = cargo_edges(generated, metadata)
    assert len(theirs) >= 20
    assert ours - theirs == set()
    assert theirs - ours == set()


def cargo_builds(repo: Path, package: str) -> set[str]:
    """Workspace crates ``cargo build``/``cargo test -p package`` compiles, on any target."""
    output = run_cargo(
        repo,
        "tree",
        "-p",
        package,
        "-e",
        "normal,build,dev",
        "--target",
        "all",
        "--prefix",
        "none",
        "-f",
        "{p}",
    )
    return {line.split(" ", 1)[0] for line in output.splitlines() if line.strip()}


def test_coverage_contains_what_cargo_builds(generated: Path) -> None:
    index = load_workspace(generated, use_cache=False).index
    assert index.problems == []
    under: dict[str, set[str]] = {}
    over = 0
    for crate in sorted(index.kinds):
        builds = cargo_builds(generated, crate)
        covered = set(index.coverage[crate])
        if builds - covered:
            under[crate] = builds - covered
        over += len(covered - builds)
    assert under == {}
    # Lanes resolves features as Cargo does, so it should not cover more either; features of a
    # dependency entry merged across target tables are the only allowed source of extra coverage.
    assert over == 0


def _drop_lock_dependency(lock: str) -> tuple[str, str, str]:
    """``lock`` without the first dependency line naming a path package, and that edge."""
    import re

    local = set(
        re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "[^"]+"\n(?!source)', lock)
    )
    for match in re.finditer(r'\[\[package\]\]\nname = "([^"]+)"\n(?:(?!\n\n).)*', lock, re.S):
        if match.group(1) not in local:
            continue
        for line in re.finditer(r'^ "([^" ]+)[^"]*",\n', match.group(0), re.M):
            if line.group(1) in local and line.group(1) != match.group(1):
                start = match.start() + line.start()
                dropped = lock[:start] + lock[start + len(line.group(0)) :]
                return dropped, match.group(1), line.group(1)
    raise AssertionError("the generated lock has no member-to-member dependency")


def test_a_lock_cargo_generated_agrees_and_a_dropped_dependency_is_reported(
    generated: Path, tmp_path: Path
) -> None:
    """The real ``cargo generate-lockfile`` (all features, all targets, dev, build, optional,
    renamed and target-specific path dependencies) records every manifest edge: no gap; with
    one dependency line removed from Cargo.lock, exactly that edge is reported."""
    found = cargo_discovery.parse(generated, cargo_discovery.locate(generated))
    assert found.lock_gaps == []
    repo = tmp_path / "stale"
    shutil.copytree(generated, repo, ignore=shutil.ignore_patterns("target"))
    lock, source, target = _drop_lock_dependency((repo / "Cargo.lock").read_text())
    (repo / "Cargo.lock").write_text(lock)
    stale = cargo_discovery.parse(repo, cargo_discovery.locate(repo))
    assert {(g.lockfile, g.source, g.target) for g in stale.lock_gaps} == {
        ("Cargo.lock", source, target)
    }
    assert stale.edges == found.edges  # selection follows the manifests as before
