"""``lanes detect`` against Turborepo's dependents filter on generated pnpm workspaces, change by
change (results go to docs/lanes.md; nothing here is a test).

Usage: python benchmarks/js_turbo_differential.py [--manager pnpm|npm|yarn] [--seeds 0:25] [--json]

Each seed generates a workspace of 5 to 11 packages in three directory layouts, with random
edges: every dependency field (``dependencies``, ``devDependencies``, ``optionalDependencies``,
``peerDependencies``), the specifiers the package manager links (pnpm: ``workspace:*``,
``workspace:^``, ``workspace:~``, ``workspace:1.0.0``, plain ranges under
``link-workspace-packages``, ``link:`` and ``file:`` paths; npm: plain ranges and ``file:``
paths; yarn 4: ``workspace:`` ranges, plain ranges, ``portal:`` and ``link:`` paths), named and
private packages, and sometimes a root ``devDependency`` on a member. The real package manager
installs it (offline: every dependency is a workspace package) and writes its
lock; then, for a change to a source file of each package in turn, and for three changes that
each add a dependency between two members (the manifest and the lock the real tool rewrites),
committed one by one, the benchmark compares

* ``lanes detect --base HEAD^ --format json`` with
* ``turbo ls --filter=...[HEAD^] --output=json`` (the changed packages and their dependents).

A package turbo lists and lanes does not is an **under-selection** (the bug lanes exists to
prevent: the script exits 1); lanes listing more is reported by package for the docs to explain.
pnpm and turbo are installed from the npm registry into ``benchmarks/out/`` (ignored by git), as
``js_peers_bench.py`` does; the tests never install or run them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from js_peers_bench import (
    OUT,
    PNPM_VERSION,
    TURBO_VERSION,
    git,
    install_pnpm,
    npm_tool,
    run,
    write,
)

LANES = [sys.executable, "-m", "lanes.cli"]
GROUPS = ("packages", "apps", "libs/g1", "libs/g2")
FIELDS = ("dependencies", "dependencies", "devDependencies", "optionalDependencies", "peer")
SPECS = ("workspace:*", "workspace:^", "workspace:~", "workspace:1.0.0", "1.0.0", "^1.0.0", "*")
PATHS = ("link:", "file:")
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
NPM_SPECS = ("*", "^1.0.0", "1.0.0", "file:")
YARN_SPECS = ("workspace:*", "workspace:^", "workspace:~", "*", "^1.0.0", "portal:", "link:")
YARN_VERSION = "4.18.1"
PATTERNS = ("packages/*", "apps/*", "libs/**")


def install_turbo(env: dict[str, str]) -> Path:
    return npm_tool("turbo-tools", f"turbo@{TURBO_VERSION}", "turbo", env)


def make_workspace(root: Path, seed: int, manager: str) -> list[str]:
    """A random workspace of ``manager`` (pnpm, npm) at ``root``; the member directories."""
    rng = random.Random(seed)
    count = rng.randrange(5, 12)
    dirs = [f"{rng.choice(GROUPS)}/p{i}" for i in range(count)]
    names = [f"@s/p{i}" if rng.random() < 0.5 else f"p{i}" for i in range(count)]
    linking = rng.random() < 0.5  # pnpm links plain ranges to members only with this setting
    manifest: dict[str, Any] = {"name": "root", "private": True}
    if manager in ("npm", "yarn"):
        manifest["workspaces"] = list(PATTERNS)
        version = npm_version() if manager == "npm" else YARN_VERSION
        manifest["packageManager"] = f"{manager}@{version}"
    else:
        listed = "".join(f"  - '{pattern}'\n" for pattern in PATTERNS)
        write(root / "pnpm-workspace.yaml", f"packages:\n{listed}")
        manifest["packageManager"] = f"pnpm@{PNPM_VERSION}"
        if linking:
            write(root / ".npmrc", "link-workspace-packages=true\n")
    for index, directory in enumerate(dirs):
        document: dict[str, Any] = {"name": names[index], "version": "1.0.0"}
        for target in rng.sample(range(count), rng.randrange(0, 4)):
            if target != index:
                relative = os.path.relpath(dirs[target], directory)
                if manager in ("npm", "yarn"):
                    specs = NPM_SPECS if manager == "npm" else YARN_SPECS
                    add_plain_dependency(rng, document, names[target], relative, specs)
                else:
                    add_dependency(rng, document, names[target], relative, linking)
        if rng.random() < 0.2:
            document["private"] = True
        write(root / directory / "package.json", json.dumps(document, indent=2) + "\n")
        write(root / directory / "src" / "index.js", "export const x = 1;\n")
    if rng.random() < 0.3:
        spec = "*" if manager != "pnpm" else "workspace:*"
        manifest["devDependencies"] = {rng.choice(names): spec}
    write(root / "package.json", json.dumps(manifest, indent=2) + "\n")
    write(root / "turbo.json", json.dumps({"tasks": {"build": {"dependsOn": ["^build"]}}}) + "\n")
    write(root / ".gitignore", "node_modules/\n.turbo/\n.yarn/\n.pnp.*\n")
    return dirs


def add_dependency(
    rng: random.Random, document: dict[str, Any], name: str, relative: str, linking: bool
) -> None:
    field = rng.choice(FIELDS)
    spec = rng.choice(SPECS + PATHS)
    if spec in PATHS:
        spec = f"{spec}{relative}"
    if field == "peer":
        field, spec = "peerDependencies", rng.choice(("workspace:*", "^1.0.0", "*"))
        if rng.random() < 0.5:
            document.setdefault("devDependencies", {})[name] = "workspace:*"
    if not spec.startswith(("workspace:", *PATHS)) and (
        not linking or field == "optionalDependencies"
    ):
        spec = "workspace:*"  # a plain range would make pnpm ask the registry
    document.setdefault(field, {})[name] = spec


def add_plain_dependency(
    rng: random.Random, document: dict[str, Any], name: str, relative: str, specs: tuple[str, ...]
) -> None:
    """npm and yarn link a member for a plain range it satisfies (npm has no ``workspace:``)."""
    field = rng.choice(FIELDS)
    spec = rng.choice(specs)
    if spec.endswith(":") and not spec.startswith("workspace"):
        spec = f"{spec}{relative}"
    if field == "peer":
        field, spec = "peerDependencies", rng.choice(("^1.0.0", "*"))
    document.setdefault(field, {})[name] = spec


def npm_version() -> str:
    return subprocess.run(
        ["npm", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def install_yarn(env: dict[str, str]) -> Path:
    return npm_tool("yarn-tools", f"@yarnpkg/cli-dist@{YARN_VERSION}", "yarn", env)


def install_command(manager: str, pnpm: Path, yarn: Path | None) -> list[str]:
    if manager == "npm":
        return ["npm", "install", "--offline", "--no-audit", "--no-fund"]
    if manager == "yarn" and yarn is not None:
        return [str(yarn), "install"]
    return [str(pnpm), "install", "--offline", "--store-dir", str(OUT / "pnpm-store")]


def compare_one(
    repo: Path, changed: str, turbo: Path, envs: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The last commit's selections by turbo and lanes."""
    listed = json.loads(
        run([str(turbo), "ls", "--filter=...[HEAD^]", "--output=json"], repo, envs["turbo"])
    )
    turbo_set = {item["name"] for item in listed["packages"]["items"]}
    detected = json.loads(
        run([*LANES, "detect", "--base", "HEAD^", "--format", "json"], repo, envs["lanes"])
    )
    lanes_set = set(detected["selected"])
    return {
        "changed": changed,
        "mode": detected["mode"],
        "under": sorted(turbo_set - lanes_set),
        "more": sorted(lanes_set - turbo_set),
    }


def compare(
    repo: Path, dirs: list[str], turbo: Path, envs: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    """A source change to each package in turn."""
    found = []
    for index, directory in enumerate(dirs):
        write(repo / directory / "src" / "index.js", f"export const x = {index + 2};\n")
        git(repo, "commit", "-q", "-a", "-m", f"change {directory}")
        found.append(compare_one(repo, directory, turbo, envs))
    return found


def compare_manifests(
    repo: Path,
    dirs: list[str],
    seed: int,
    install: list[str],
    turbo: Path,
    envs: dict[str, dict[str, str]],
) -> list[dict[str, Any]]:
    """Three commits that each add a dependency between two members to a manifest and the
    lock the real package manager rewrites for it: the graph lanes compares with the base's."""
    rng = random.Random(seed + 1000)
    found = []
    for _ in range(3):
        source, target = rng.sample(dirs, 2)
        manifest = repo / source / "package.json"
        document = json.loads(manifest.read_text(encoding="utf-8"))
        name = json.loads((repo / target / "package.json").read_text(encoding="utf-8"))["name"]
        if any(name in document.get(field, {}) for field in DEPENDENCY_FIELDS):
            continue  # already a dependency: nothing would change
        spec = "workspace:*" if (repo / "pnpm-workspace.yaml").exists() else "*"
        document.setdefault("dependencies", {})[name] = spec
        write(manifest, json.dumps(document, indent=2) + "\n")
        if subprocess.run(install, cwd=repo, env=envs["turbo"], capture_output=True).returncode:
            git(repo, "checkout", "-q", "--", ".")
            continue
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"{source} depends on {target}")
        found.append(compare_one(repo, f"{source}/package.json -> {target}", turbo, envs))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--manager", choices=("pnpm", "npm", "yarn"), default="pnpm")
    parser.add_argument("--seeds", default="0:25", help="seed range START:END (default 0:25)")
    parser.add_argument("--json", action="store_true", help="print every comparison as JSON")
    args = parser.parse_args()
    start, _, end = args.seeds.partition(":")
    base_env = dict(os.environ)
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    OUT.mkdir(exist_ok=True)
    pnpm, turbo = install_pnpm(base_env), install_turbo(base_env)
    yarn = install_yarn(base_env) if args.manager == "yarn" else None
    tools_env = {
        **base_env,
        "PATH": f"{pnpm.parent}{os.pathsep}{base_env.get('PATH', '')}",
        "TURBO_TELEMETRY_DISABLED": "1",
        "DO_NOT_TRACK": "1",
        "YARN_ENABLE_NETWORK": "0",  # every dependency is a workspace package
        "YARN_ENABLE_TELEMETRY": "0",
    }
    lanes_env = {**base_env, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    envs = {"turbo": tools_env, "lanes": lanes_env}
    results: list[dict[str, Any]] = []
    skipped = []
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(int(start), int(end)):
            repo = Path(directory) / f"w{seed}"
            dirs = make_workspace(repo, seed, args.manager)
            install = install_command(args.manager, pnpm, yarn)
            if subprocess.run(install, cwd=repo, env=tools_env, capture_output=True).returncode:
                skipped.append(seed)  # the tool refused the generated workspace: nothing to compare
                shutil.rmtree(repo)
                continue
            git(repo, "init", "-q", "-b", "main")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "generated workspace")
            found = compare(repo, dirs, turbo, envs)
            found += compare_manifests(repo, dirs, seed, install, turbo, envs)
            results += [{"seed": seed, **r} for r in found]
    versions = {"npm": npm_version(), "pnpm": PNPM_VERSION, "yarn": YARN_VERSION}
    manager_label = f"{args.manager} {versions[args.manager]}"
    under = [r for r in results if r["under"]]
    more = [r for r in results if r["more"] and r["more"] != ["root"]]
    if args.json:
        print(json.dumps({"results": results, "skipped": skipped}, indent=1))
    print(
        f"{len(results)} changes in {len({r['seed'] for r in results})} workspaces "
        f"({manager_label}, turbo {TURBO_VERSION}; seeds it refused: {skipped or 'none'}): "
        f"{len(under)} under-selections, {len(more)} with more packages than turbo "
        "(besides the named root)"
    )
    for r in under:
        print(f"UNDER seed {r['seed']} {r['changed']}: turbo also lists {', '.join(r['under'])}")
    return 1 if under else 0


if __name__ == "__main__":
    sys.exit(main())
