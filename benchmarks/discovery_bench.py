"""Cold manifest discovery on synthetic workspaces (target: 5,000 manifests in <= 2 s).

Generates a workspace of N packages per ecosystem in a temporary directory, then times
``locate`` + ``parse`` several times, each run in a fresh interpreter (nothing imported or
cached in memory beforehand), and reports the median. Two figures per ecosystem:

* ``discovery``: the time ``locate`` + ``parse`` take inside that fresh process;
* ``process``: the whole ``python -c`` run (interpreter start, imports, discovery).

Usage: python benchmarks/discovery_bench.py [--packages 5000] [--runs 7] [--kinds cargo,python,npm]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_CHILD = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
from lanes.discovery import ecosystem
module = ecosystem(sys.argv[1])
repo = Path(sys.argv[2])
located = module.locate(repo)
result = module.parse(repo, located)
elapsed = time.perf_counter() - t0
assert not result.errors, result.errors[:3]
print(elapsed, len(located), len(result.components), len(result.edges))
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _targets(rng: random.Random, index: int, count: int) -> list[int]:
    return sorted(rng.sample(range(index), min(index, count))) if index else []


def cargo_repo(repo: Path, packages: int, rng: random.Random) -> None:
    shared = "".join(f'c{i} = {{ path = "crates/c{i}" }}\n' for i in range(0, packages, 10))
    _write(
        repo / "Cargo.toml",
        '[workspace]\nresolver = "2"\nmembers = ["crates/*"]\nexclude = ["crates/none"]\n\n'
        f'[workspace.dependencies]\nserde = "1"\n{shared}',
    )
    for i in range(packages):
        deps = _targets(rng, i, 6)
        normal = "".join(
            f"c{d}.workspace = true\n" if d % 10 == 0 else f'c{d} = {{ path = "../c{d}" }}\n'
            for d in deps[:4]
        )
        extra = "".join(f'c{d} = {{ path = "../c{d}" }}\n' for d in deps[4:])
        _write(
            repo / f"crates/c{i}/Cargo.toml",
            f'[package]\nname = "c{i}"\nversion = "0.1.0"\nedition = "2021"\n\n'
            f'[dependencies]\nserde = {{ workspace = true }}\ntokio = "1"\n{normal}\n'
            f"[dev-dependencies]\n{extra}\n"
            f"[target.'cfg(unix)'.build-dependencies]\n{extra}",
        )


def python_repo(repo: Path, packages: int, rng: random.Random) -> None:
    _write(
        repo / "pyproject.toml",
        '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n[tool.uv.sources]\n'
        + "".join(f"p{i} = {{ workspace = true }}\n" for i in range(packages)),
    )
    for i in range(packages):
        deps = [f'"p{d}>=0.1"' for d in _targets(rng, i, 6)]
        normal = ", ".join([*deps[:4], '"requests>=2"'])
        _write(
            repo / f"packages/p{i}/pyproject.toml",
            f'[project]\nname = "p{i}"\nversion = "0.1.0"\n'
            f"dependencies = [{normal}]\n"
            f"[project.optional-dependencies]\nextra = [{', '.join(deps[4:])}]\n"
            f'[dependency-groups]\ndev = ["pytest"]\n',
        )


def npm_repo(repo: Path, packages: int, rng: random.Random) -> None:
    _write(repo / "package.json", json.dumps({"name": "root", "workspaces": ["packages/*"]}))
    for i in range(packages):
        deps = _targets(rng, i, 6)
        document = {
            "name": f"@s/p{i}",
            "version": "1.0.0",
            "dependencies": {**{f"@s/p{d}": "workspace:*" for d in deps[:4]}, "react": "^19"},
            "devDependencies": {f"@s/p{d}": "*" for d in deps[4:]},
        }
        _write(repo / f"packages/p{i}/package.json", json.dumps(document, indent=2))


BUILDERS: dict[str, Callable[[Path, int, random.Random], None]] = {
    "cargo": cargo_repo,
    "python": python_repo,
    "npm": npm_repo,
}


def _run_once(kind: str, repo: Path) -> tuple[float, float, str]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(repo)], capture_output=True, text=True, check=True
    )
    process = time.perf_counter() - start
    elapsed, *counts = completed.stdout.split()
    return float(elapsed), process, " ".join(counts)


def bench(kind: str, packages: int, runs: int, workdir: Path) -> None:
    repo = workdir / kind
    BUILDERS[kind](repo, packages, random.Random(42))
    samples = [_run_once(kind, repo) for _ in range(runs)]
    inner = [s[0] for s in samples]
    outer = [s[1] for s in samples]
    located, components, edges = samples[0][2].split()
    print(
        f"{kind:7} manifests={located:>5} components={components:>5} edges={edges:>6}  "
        f"discovery median={statistics.median(inner) * 1000:7.1f} ms "
        f"(min {min(inner) * 1000:.1f}, max {max(inner) * 1000:.1f})  "
        f"process median={statistics.median(outer) * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kinds", default="cargo,python,npm")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {args.packages} packages, {args.runs} runs each")
    with tempfile.TemporaryDirectory(prefix="lanes-discovery-bench-") as tmp:
        for kind in args.kinds.split(","):
            bench(kind, args.packages, args.runs, Path(tmp))


if __name__ == "__main__":
    main()
