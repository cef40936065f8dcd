"""Benchmark of the semantic lockfile diff (results go to docs/benchmarks.md; not a test).

Usage: python benchmarks/lockdiff_bench.py [--runs N]

Synthetic pnpm-lock.yaml (v9) and package-lock.json (v3) of about 5 MB: 200 workspace
importers, 10,000 registry packages in a layered DAG (each depends on up to four lower ones,
each importer on up to eight). ``lanes.lockdiff.diff_lockfile`` in-process, median of N runs:
one leaf package bumped, one package near the top bumped, and every package bumped (the worst
case for the reachability walk); the parse alone for comparison.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from lanes.lockdiff import diff_lockfile
from lanes.lockdiff._diff import diff_graphs
from lanes.lockdiff.npm import parse as parse_npm
from lanes.lockdiff.pnpm import parse as parse_pnpm

IMPORTERS, PACKAGES = 200, 10_000


def _graph(seed: int = 1) -> tuple[list[list[int]], list[list[int]]]:
    rng = random.Random(seed)
    deps = [rng.sample(range(i), min(i, rng.randint(0, 4))) for i in range(PACKAGES)]
    users = [rng.sample(range(PACKAGES), rng.randint(1, 8)) for _ in range(IMPORTERS)]
    return deps, users


def _integrity(i: int, bump: set[int]) -> str:
    return f"sha512-{'b' if i in bump else 'a'}{i:08d}" + "x" * 70 + "=="


def pnpm_lock(bump: set[int]) -> bytes:
    deps, users = _graph()
    version = {i: ("2.0.0" if i in bump else "1.0.0") for i in range(PACKAGES)}
    out = ["lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n\nimporters:\n"]
    for k, used in enumerate(users):
        out.append(f"\n  packages/p{k}:\n    dependencies:\n")
        for i in sorted(used):
            out.append(
                f"      pkg-{i}:\n        specifier: ^1.0.0\n        version: {version[i]}\n"
            )
    out.append("\npackages:\n")
    for i in range(PACKAGES):
        out.append(
            f"\n  pkg-{i}@{version[i]}:\n    resolution: {{integrity: {_integrity(i, bump)}}}\n"
            "    engines: {node: '>=18'}\n"
        )
    out.append("\nsnapshots:\n")
    for i in range(PACKAGES):
        if not deps[i]:
            out.append(f"\n  pkg-{i}@{version[i]}: {{}}\n")
            continue
        out.append(f"\n  pkg-{i}@{version[i]}:\n    dependencies:\n")
        out.extend(f"      pkg-{d}: {version[d]}\n" for d in sorted(deps[i]))
    return "".join(out).encode()


def npm_lock(bump: set[int]) -> bytes:
    deps, users = _graph()
    version = {i: ("2.0.0" if i in bump else "1.0.0") for i in range(PACKAGES)}
    packages: dict[str, object] = {"": {"name": "root", "workspaces": ["packages/*"]}}
    for k, used in enumerate(users):
        packages[f"node_modules/w{k}"] = {"resolved": f"packages/p{k}", "link": True}
        packages[f"packages/p{k}"] = {
            "name": f"w{k}",
            "version": "1.0.0",
            "dependencies": {f"pkg-{i}": "^1.0.0" for i in sorted(used)},
        }
    for i in range(PACKAGES):
        packages[f"node_modules/pkg-{i}"] = {
            "version": version[i],
            "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-{version[i]}.tgz",
            "integrity": _integrity(i, bump),
            "license": "MIT",
            "dependencies": {f"pkg-{d}": "^1.0.0" for d in sorted(deps[i])},
        }
    lock = {"name": "root", "lockfileVersion": 3, "requires": True, "packages": packages}
    return json.dumps(lock, indent=2).encode()


def _median(runs: int, work: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    cases = {"leaf bumped": {0}, "top package bumped": {PACKAGES - 1}, "all bumped": None}
    kinds = (
        ("pnpm", "pnpm-lock.yaml", pnpm_lock, parse_pnpm),
        ("npm", "package-lock.json", npm_lock, parse_npm),
    )
    for kind, path, build, parse in kinds:
        old = build(set())
        seconds = _median(runs, parse, path, old)
        print(f"{kind}: {len(old) / 1e6:.1f} MB, parse of one side {seconds:.3f} s")
        for case, bump in cases.items():
            new = build(set(range(PACKAGES)) if bump is None else bump)
            result = diff_lockfile(path, old, new)
            seconds = _median(runs, diff_lockfile, path, old, new)
            graphs = parse(path, old), parse(path, new)
            walk = _median(runs, diff_graphs, path, *graphs)
            print(
                f"  {case}: diff {seconds:.3f} s, of which the graph diff {walk:.3f} s;"
                f" {len(result.reached)} members reached"
            )


if __name__ == "__main__":
    main()
