"""Benchmarks for ``lanes`` (results go to docs/benchmarks.md; nothing here is a test).

Usage: python benchmarks/lanes_bench.py [--quick] [--runs N]

0. a real-sized workspace (45 crates, 1,800 files, a ``lanes.yml`` with 22 globs in ``global``,
   ``ignore`` and lane ``paths``): 27 paths, and 10,000 paths against the bash detector;
1. whole-process ``lanes detect --paths-from-stdin``, warm cache, 30 paths, 50-crate workspace;
2. 10,000 paths on the same workspace: lanes against a bash ``case``-statement detector with
   equivalent rules (benchmarks/case_detector.sh, rules generated from the lanes coverage);
3. a synthetic 100k-file, 5k-crate workspace: 10,000 paths detected (warm), and discovery of the
   5,000 manifests cold (a fresh process, no index cache).
Each figure is the median of several runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANES = [sys.executable, "-m", "lanes.cli"]
LANE_ROOT_FRACTIONS = {"sdk": 0.95, "minimal": 0.7, "feature": 0.99, "wasm": 0.3}


def crate_name(i: int) -> str:
    return f"c{i:05d}"


def dependencies(i: int) -> list[int]:
    """A layered DAG: each crate depends on up to three lower crates."""
    rng = random.Random(i)
    return sorted({rng.randrange(i) for _ in range(3)}) if i else []


def make_workspace(root: Path, crates: int, files_per_crate: int) -> Path:
    root.mkdir(parents=True)
    members = ", ".join(f'"crates/{crate_name(i)}"' for i in range(crates))
    (root / "Cargo.toml").write_text(f"[workspace]\nmembers = [{members}]\n")
    (root / "Cargo.lock").write_text("# lock\n")
    for i in range(crates):
        directory = root / "crates" / crate_name(i)
        (directory / "src").mkdir(parents=True)
        deps = "\n".join(
            f'{crate_name(d)} = {{ path = "../{crate_name(d)}" }}' for d in dependencies(i)
        )
        (directory / "Cargo.toml").write_text(
            f'[package]\nname = "{crate_name(i)}"\nversion = "0.1.0"\n\n[dependencies]\n{deps}\n'
        )
        for f in range(files_per_crate - 1):
            (directory / "src" / f"m{f}.rs").write_text("")
    lanes = "\n".join(
        f"  {lane}:\n    roots: [{crate_name(int(crates * fraction) - 1)}]\n    run: make {lane}"
        for lane, fraction in LANE_ROOT_FRACTIONS.items()
    )
    (root / "lanes.yml").write_text(
        'version: 1\nglobal: ["Cargo.lock", "Cargo.toml", ".github/workflows/**"]\n'
        f'ignore: ["docs/**", "**/*.md"]\nlanes:\n{lanes}\n'
    )
    # Tracked, as in a CI checkout: discovery lists manifests from git's index (cached by the
    # index file's identity); an untracked tree is walked on every run instead.
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return root


def sample_paths(crates: int, files_per_crate: int, count: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    paths = []
    for _ in range(count):
        i, f = rng.randrange(crates), rng.randrange(max(files_per_crate - 1, 1))
        paths.append(f"crates/{crate_name(i)}/src/m{f}.rs")
    return ("\n".join(paths) + "\n").encode()


def timed(command: list[str], stdin: bytes, cwd: Path, env: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    result = subprocess.run(command, input=stdin, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start, result.stdout


def median_of(
    runs: int, command: list[str], stdin: bytes, cwd: Path, env: dict[str, str]
) -> tuple[float, bytes]:
    samples = [timed(command, stdin, cwd, env) for _ in range(runs)]
    return statistics.median(s for s, _ in samples), samples[-1][1]


def case_rules(
    repo: Path,
    env: dict[str, str],
    global_globs: list[str] | None = None,
    lane_paths: dict[str, list[str]] | None = None,
) -> Path:
    """Bash rules equivalent to the lanes coverage, written the way hand-made detectors are:
    one ``case`` statement per lane listing the globs of everything that lane covers: the
    global ones, the lane's own paths and its crates (bash ``*`` crosses ``/``, so ``sdk/**``
    is ``sdk/*`` and ``proto/**/*.proto`` is ``proto/*.proto``)."""
    graph_json = subprocess.run(
        [*LANES, "graph", "--format", "json"], cwd=repo, env=env, capture_output=True, check=True
    ).stdout
    coverage: dict[str, list[str]] = json.loads(graph_json)["lanes"]
    always = global_globs or ["Cargo.lock", "Cargo.toml", ".github/workflows/**"]
    statements = []
    for lane, components in coverage.items():
        own = (lane_paths or {}).get(lane, [])
        globs = "|".join(
            [glob.replace("**/", "").replace("**", "*") for glob in [*always, *own]]
            + [f"crates/{c}/*" for c in sorted(components)]
        )
        statements.append(f'    case "$1" in\n        {globs}) hit[{lane}]=1 ;;\n    esac')
    body = "\n".join(statements)
    rules = repo / "case_rules.sh"
    rules.write_text(f"LANES=({' '.join(coverage)})\nclassify() {{\n{body}\n}}\n")
    return rules


def selected(output: bytes) -> list[str]:
    data = json.loads(output)
    return list(data["selected"])


def bench_against_bash(tmp: Path, runs: int, env: dict[str, str], crates: int) -> dict[str, float]:
    """10,000 paths: lanes against the bash case detector with equivalent rules."""
    repo = make_workspace(tmp / f"ws{crates}", crates, 10)
    detect = [*LANES, "detect", "--paths-from-stdin", "--format", "json"]
    timed(detect, sample_paths(crates, 10, 30), repo, env)  # warm the cache
    results: dict[str, float] = {}
    if crates == 50:
        results["detect_30_paths_50_crates_warm_s"] = median_of(
            runs, detect, sample_paths(crates, 10, 30), repo, env
        )[0]
    many = sample_paths(crates, 10, 10_000)
    lanes_10k, out = median_of(runs, detect, many, repo, env)
    rules = case_rules(repo, env)
    bash_10k, bash_out = median_of(
        max(3, runs // 3), ["bash", str(HERE / "case_detector.sh"), str(rules)], many, repo, env
    )
    bash_selected = [
        line.split("=")[0] for line in bash_out.decode().split() if line.endswith("=true")
    ]
    assert sorted(bash_selected) == sorted(selected(out)), (bash_selected, selected(out))
    return results | {
        f"detect_10k_paths_{crates}_crates_s": lanes_10k,
        f"bash_case_10k_paths_{crates}_crates_s": bash_10k,
        f"speedup_{crates}_crates": bash_10k / lanes_10k,
    }


REAL_GLOBAL = [
    "Cargo.lock",
    "Cargo.toml",
    ".github/workflows/**",
    "rust-toolchain.toml",
    ".cargo/**",
    "scripts/ci/**",
]
REAL_IGNORE = ["docs/**", "**/*.md", "LICENSE*", ".gitignore", "**/*.txt", "assets/**"]
REAL_LANE_PATHS = {
    "sdk": ["sdk/**", "proto/**/*.proto"],
    "minimal": ["tools/minimal/**", "examples/minimal/**"],
    "feature": ["features/**", "config/*.toml"],
    "wasm": ["wasm/**", "web/**/*.ts"],
    "security": ["security/**", "audit/**"],
}
REAL_OTHER_FILES = [
    "docs/guide/intro.md",
    "docs/api/index.txt",
    "assets/logo.svg",
    "sdk/client/main.rs",
    "proto/v1/session.proto",
    "tools/minimal/run.sh",
    "examples/minimal/main.rs",
    "features/flags.rs",
    "config/default.toml",
    "wasm/glue.js",
    "web/app/index.ts",
    "security/policy.rs",
    "audit/rules.rs",
]


def make_real_sized(root: Path, crates: int = 45, files_per_crate: int = 40) -> Path:
    """A workspace the size of a real monorepo, with path rules of every kind."""
    make_workspace(root, crates, files_per_crate)
    lanes = {lane: int(crates * fraction) - 1 for lane, fraction in LANE_ROOT_FRACTIONS.items()}
    lanes["security"] = crates // 2
    body = "".join(
        f"  {lane}:\n    roots: [{crate_name(root_index)}]\n"
        f"    paths: {json.dumps(REAL_LANE_PATHS[lane])}\n    run: make {lane}\n"
        for lane, root_index in lanes.items()
    )
    (root / "lanes.yml").write_text(
        f"version: 1\nglobal: {json.dumps(REAL_GLOBAL)}\nignore: {json.dumps(REAL_IGNORE)}\n"
        f"unmatched: all\nlanes:\n{body}"
    )
    for path in REAL_OTHER_FILES:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
    return root


def real_sized_paths(crates: int, files_per_crate: int, count: int, seed: int = 11) -> bytes:
    """Mostly crate sources, some lane-path files and some ignored ones (none unmatched)."""
    rng = random.Random(seed)
    crate_paths = sample_paths(crates, files_per_crate, count, seed).decode().split()
    paths = [rng.choice(REAL_OTHER_FILES) if rng.random() < 0.2 else p for p in crate_paths]
    return ("\n".join(paths) + "\n").encode()


def bench_real_sized(tmp: Path, runs: int, env: dict[str, str]) -> dict[str, float]:
    repo = make_real_sized(tmp / "real")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)  # the files added after init
    files = len(
        subprocess.run(
            ["git", "ls-files"], cwd=repo, check=True, capture_output=True
        ).stdout.split()
    )
    detect = [*LANES, "detect", "--paths-from-stdin", "--format", "json"]
    few = real_sized_paths(45, 40, 27)
    timed(detect, few, repo, env)  # warm the cache
    few_s = median_of(runs, detect, few, repo, env)[0]
    many = real_sized_paths(45, 40, 10_000)
    lanes_10k, out = median_of(runs, detect, many, repo, env)
    rules = case_rules(repo, env, REAL_GLOBAL, REAL_LANE_PATHS)
    bash = ["bash", str(HERE / "case_detector.sh"), str(rules)]
    bash_10k, bash_out = median_of(max(3, runs // 3), bash, many, repo, env)
    bash_selected = [
        line.split("=")[0] for line in bash_out.decode().split() if line.endswith("=true")
    ]
    data = json.loads(out)
    assert data["mode"] == "precise", data["failsafe"]
    assert sorted(bash_selected) == sorted(selected(out)), (bash_selected, selected(out))
    return {
        "real_sized_tracked_files": float(files),
        "real_sized_27_paths_warm_s": few_s,
        "real_sized_10k_paths_s": lanes_10k,
        "real_sized_bash_case_10k_paths_s": bash_10k,
        "real_sized_speedup": bash_10k / lanes_10k,
    }


def bench_large(
    tmp: Path, runs: int, env: dict[str, str], crates: int, files: int
) -> dict[str, float]:
    repo = make_workspace(tmp / "ws5k", crates, files)
    discovery = (
        "import time, pathlib\n"
        "from lanes import discovery\n"
        "t = time.perf_counter()\n"
        "r = pathlib.Path('.')\n"
        "found = discovery.parse_all(r, discovery.locate_all(r, ['cargo']))\n"
        f"assert len(found.components) == {crates} and not found.errors, found.errors[:3]\n"
        "print(time.perf_counter() - t)\n"
    )
    cold = statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", discovery],
                cwd=repo,
                env=env,
                capture_output=True,
                check=True,
            ).stdout
        )
        for _ in range(runs)
    )
    detect = [*LANES, "detect", "--paths-from-stdin", "--format", "json"]
    many = sample_paths(crates, files, 10_000)
    cold_build, _ = timed([*detect, "--no-cache"], many, repo, env)
    timed(detect, many, repo, env)
    warm, _ = median_of(runs, detect, many, repo, env)
    return {
        "discovery_5k_manifests_cold_s": cold,
        "detect_10k_paths_5k_crates_warm_s": warm,
        "detect_10k_paths_5k_crates_no_cache_s": cold_build,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="smaller large workspace (500 crates)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        env = {**os.environ, "LANES_CACHE_DIR": str(tmp / "cache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages run from bytecode
        results = bench_real_sized(tmp, args.runs, env)
        results |= bench_against_bash(tmp, args.runs, env, 50)
        results |= bench_against_bash(tmp, args.runs, env, 500)
        crates, files = (500, 20) if args.quick else (5000, 20)
        results |= bench_large(tmp, max(3, args.runs // 2), env, crates, files)
    for name, value in results.items():
        print(f"{name:45s} {value:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
