"""Differential tests against the JS lockfiles pnpm 9, npm 11 and yarn 4 wrote for generated
workspaces (tests/lanes/js_workspaces.py; the lockfiles are committed data, no network).

For every package changed, every workspace package whose lockfile-recorded dependency closure
(all fields, devDependencies included, as Nx and Turborepo count them) reaches it must be
selected: 0 under-selections. The ``stripped`` variant removes the dependency fields from half of
the manifests, so those edges can only come from the lockfile.
"""

from __future__ import annotations

import json
import posixpath
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from lanes.engine import select
from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.js_workspaces import DATA, FIELDS, LOCKFILE, SEEDS, TOOLS, generate

Links = dict[str, set[str]]  # workspace directory -> directories it links to


def pnpm_links(text: str) -> Links:
    links: Links = defaultdict(set)
    for importer, sections in yaml.safe_load(text)["importers"].items():
        for field in ("dependencies", "devDependencies", "optionalDependencies"):
            for entry in (sections or {}).get(field, {}).values():
                version = entry["version"]
                if version.startswith("link:"):
                    target = posixpath.normpath(posixpath.join(importer, version[5:]))
                    links[posixpath.normpath(importer)].add(target)
    return links


def npm_links(text: str) -> Links:
    packages: dict[str, Any] = json.loads(text)["packages"]
    links: Links = defaultdict(set)
    for key, entry in packages.items():
        if "node_modules" in key:
            continue
        for field in FIELDS:
            for name in entry.get(field, {}):
                nested = packages.get(f"{key}/node_modules/{name}")
                found = nested if nested is not None else packages.get(f"node_modules/{name}")
                if found and found.get("link"):
                    links[key or "."].add(found["resolved"])
    return links


def yarn_links(text: str) -> Links:
    document = yaml.safe_load(text)
    resolved: dict[str, str] = {}
    workspaces: list[tuple[str, dict[str, Any]]] = []
    for key, entry in document.items():
        resolution = str(entry.get("resolution", "")) if isinstance(entry, dict) else ""
        if "@workspace:" in resolution:
            where = resolution.rpartition("@workspace:")[2]
            for descriptor in key.split(", "):
                resolved[descriptor] = where
            workspaces.append((where, entry))
    links: Links = defaultdict(set)
    for where, entry in workspaces:
        for field in ("dependencies", "peerDependencies"):
            for name, spec in entry.get(field, {}).items():
                if f"{name}@{spec}" in resolved:
                    links[where].add(resolved[f"{name}@{spec}"])
    return links


ORACLES = {"pnpm": pnpm_links, "npm": npm_links, "yarn": yarn_links}


def dependents(links: Links, target: str) -> set[str]:
    """Directories whose lockfile closure reaches ``target``, and ``target`` itself."""
    reverse: Links = defaultdict(set)
    for source, targets in links.items():
        for found in targets:
            reverse[found].add(source)
    seen = {target}
    stack = [target]
    while stack:
        for source in reverse[stack.pop()] - seen:
            seen.add(source)
            stack.append(source)
    return seen


def strip(files: dict[str, str]) -> dict[str, str]:
    """Every other package's manifest without its dependency fields."""
    out = dict(files)
    for path, text in files.items():
        if path.endswith("/package.json") and int(path.split("/")[1][1:]) % 2:
            manifest = json.loads(text)
            out[path] = json.dumps({k: manifest[k] for k in ("name", "version")}) + "\n"
    return out


@pytest.mark.parametrize("variant", ["full", "stripped"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tool", TOOLS)
def test_no_under_selection_against_the_lockfile(
    tool: str, seed: int, variant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    lock_text = (DATA / f"{tool}-{seed}.{LOCKFILE[tool]}").read_text(encoding="utf-8")
    files = generate(seed, tool)
    repo = tmp_path / "ws"
    repo.mkdir()
    git(repo, "init", "-q")
    write_files(repo, {**(strip(files) if variant == "stripped" else files)})
    write_files(repo, {LOCKFILE[tool]: lock_text})
    commit_all(repo, "generated workspace")

    workspace = load_workspace(repo, use_cache=False)
    assert workspace.index.problems == []
    links = ORACLES[tool](lock_text)
    directories = {d: c for d, c in workspace.index.directories.items() if d}
    assert len(directories) >= 30 and sum(map(len, links.values())) >= 30
    under: dict[str, set[str]] = {}
    for directory, component in sorted(directories.items()):
        selection = select([f"{directory}/src/index.js"], workspace.rules, workspace.index)
        assert selection.mode == "precise"
        expected = {directories[d] for d in dependents(links, directory) if d in directories}
        missing = expected - set(selection.selected)
        if missing:
            under[component] = missing
    assert under == {}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tool", TOOLS)
def test_the_real_lockfile_records_every_manifest_edge(
    tool: str, seed: int, tmp_path: Path
) -> None:
    """The lockfile pnpm, npm or yarn wrote lists every package and every manifest edge (no
    stale-lock report); with the manifests' other half stripped of dependencies, the lock is
    the one with more edges (``lockfile-edge``), still no gap."""
    from lanes.discovery import npm

    lock_text = (DATA / f"{tool}-{seed}.{LOCKFILE[tool]}").read_text(encoding="utf-8")
    for variant, files in (
        ("full", generate(seed, tool)),
        ("stripped", strip(generate(seed, tool))),
    ):
        repo = tmp_path / variant
        write_files(repo, {**files, LOCKFILE[tool]: lock_text})
        found = npm.parse(repo, npm.locate(repo))
        assert found.lock_gaps == [], variant
        assert len(found.components) >= 30


def _first(files: dict[str, str], field: str) -> tuple[str, str, str]:
    """(manifest path, dependency name, specifier) of the first ``field`` entry in ``files``."""
    for path in sorted(files):
        if path.endswith("package.json") and "/" in path:
            deps = json.loads(files[path]).get(field, {})
            for name, spec in sorted(deps.items()):
                return path, name, spec
    raise AssertionError(f"no {field} in the generated workspace")


@pytest.mark.parametrize("seed", SEEDS)
def test_the_real_pnpm_lock_is_stale_after_a_specifier_or_field_change(
    seed: int, tmp_path: Path
) -> None:
    """Against the lock pnpm 9 wrote (autoInstallPeers on): a changed specifier (a dependency,
    a peer) and a dependency moved from devDependencies to dependencies are each reported,
    once, for that edge; ``pnpm install --frozen-lockfile`` refuses each of them."""
    from lanes.discovery import npm

    lock_text = (DATA / f"pnpm-{seed}.pnpm-lock.yaml").read_text(encoding="utf-8")
    files = generate(seed, "pnpm")
    changed: set[tuple[str, str, str]] = set()
    for field, new_field in (
        ("dependencies", "dependencies"),
        ("peerDependencies", "peerDependencies"),
        ("devDependencies", "dependencies"),
    ):
        path, name, spec = _first(files, field)
        manifest = json.loads(files[path])
        del manifest[field][name]
        new_spec = spec if new_field != field else f"{spec}-changed"
        manifest.setdefault(new_field, {})[name] = new_spec
        files[path] = json.dumps(manifest, indent=2) + "\n"
        changed.add((manifest["name"], name, f"{new_field} {json.dumps(name)}: "))
    repo = tmp_path / "ws"
    write_files(repo, {**files, "pnpm-lock.yaml": lock_text})
    found = npm.parse(repo, npm.locate(repo))
    gaps = {(g.source, g.target, g.stated.split(": ")[0] + ": ") for g in found.lock_gaps}
    assert gaps == changed
    assert all(g.recorded for g in found.lock_gaps)
