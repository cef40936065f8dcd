"""``lanes detect`` against Turborepo and Nx on a generated pnpm workspace (results go to
docs/benchmarks.md; nothing here is a test).

Usage: python benchmarks/js_peers_bench.py [--packages 120] [--files 15] [--runs 9]

The benchmark installs its peers itself, from the npm registry, into benchmark-local
directories under ``benchmarks/out/`` (ignored by git): pnpm with npm, then turbo and nx as
devDependencies of the generated workspace with ``pnpm install`` (Nx reads pnpm's
``node_modules/.modules.yaml``). The tests never install or run them.

The workspace is a real git repository: a layered DAG of packages (dependencies and
devDependencies with ``workspace:*``), ``pnpm-workspace.yaml``, ``turbo.json`` and ``nx.json``.
Two scenarios each commit a one-file change and time, whole process, in the same run and in
rotating order, with warm caches:

* ``lanes detect --base HEAD^ --format json``;
* ``turbo ls --filter=...[HEAD^] --output=json`` (the changed packages and their dependents);
* ``nx show projects --affected --base=HEAD^ --head=HEAD --json`` (no daemon, as on CI).

The three answers are compared (same package set expected). A breakdown of the lanes run
follows: the interpreter, the same detection from a path list (no git), and
the git processes lanes starts (counted with ``GIT_TRACE``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
REPO_ROOT = HERE.parent
PNPM_VERSION = "9.15.9"
TURBO_VERSION = "2.11.11"
NX_VERSION = "20.8.4"
LANES = [sys.executable, "-m", "lanes.cli"]


def package_name(index: int) -> str:
    return f"@bench/p{index:03d}"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def make_workspace(root: Path, packages: int, files: int) -> None:
    """A layered DAG: each package depends on up to three lower ones, a third of them dev."""
    rng = random.Random(10)
    manifest = {
        "name": "bench-monorepo",
        "private": True,
        "packageManager": f"pnpm@{PNPM_VERSION}",
        "devDependencies": {"turbo": TURBO_VERSION, "nx": NX_VERSION},
    }
    write(root / "package.json", json.dumps(manifest, indent=2) + "\n")
    write(root / "pnpm-workspace.yaml", "packages:\n  - 'packages/*'\n")
    write(root / ".npmrc", "link-workspace-packages=true\n")
    write(root / ".gitignore", "node_modules/\n.nx/\n.turbo/\n")
    tasks = {"build": {"dependsOn": ["^build"]}, "test": {"dependsOn": ["build"]}}
    write(root / "turbo.json", json.dumps({"tasks": tasks}, indent=2) + "\n")
    write(root / "nx.json", "{}\n")
    for index in range(packages):
        directory = root / "packages" / f"p{index:03d}"
        document: dict[str, object] = {
            "name": package_name(index),
            "version": "1.0.0",
            "scripts": {"build": "node -e 0", "test": "node -e 0"},
        }
        for target in sorted(rng.sample(range(index), min(index, rng.randrange(1, 4)))):
            field = "devDependencies" if rng.random() < 0.33 else "dependencies"
            deps = document.setdefault(field, {})
            assert isinstance(deps, dict)
            deps[package_name(target)] = "workspace:*"
        write(directory / "package.json", json.dumps(document, indent=2) + "\n")
        for number in range(files - 1):
            write(directory / "src" / f"m{number}.js", f"export const m = {number};\n")


def run(command: list[str], cwd: Path, env: dict[str, str]) -> bytes:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr.decode(errors="replace"))
        raise SystemExit(f"failed: {' '.join(command)}")
    return result.stdout


def npm_tool(directory: str, package: str, binary: str, env: dict[str, str]) -> Path:
    """``binary`` of ``package`` (``name@version``), installed from the npm registry into
    ``benchmarks/out/<directory>`` unless it is there already."""
    prefix = OUT / directory
    tool = prefix / "node_modules" / ".bin" / binary
    if not tool.exists():
        command = ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
        run([*command, package], HERE, env)
    return tool


def install_pnpm(env: dict[str, str]) -> Path:
    return npm_tool("js-tools", f"pnpm@{PNPM_VERSION}", "pnpm", env)


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


def timed(command: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"") -> float:
    return timed_cpu(command, cwd, env, stdin)[0]


def timed_cpu(
    command: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b""
) -> tuple[float, float]:
    """Wall time, and the CPU time (user + system) of the process and the children it waited
    for: on a loaded machine the wall time also counts waiting for a core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, input=stdin, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def answers(
    repo: Path, commands: dict[str, list[str]], envs: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """What each tool selects: package names."""
    lanes = json.loads(run(commands["lanes"], repo, envs["lanes"]))
    turbo = json.loads(run(commands["turbo"], repo, envs["turbo"]))
    nx = json.loads(run(commands["nx"], repo, envs["nx"]))
    return {
        "lanes": sorted(lanes["selected"]),
        "lanes_mode": lanes["mode"],
        "turbo": sorted(item["name"] for item in turbo["packages"]["items"]),
        "nx": sorted(nx),
    }


def breakdown(repo: Path, runs: int, env: dict[str, str], paths: bytes) -> dict[str, float]:
    """Where the time of ``lanes detect --base HEAD^`` goes (medians)."""
    trace = repo.parent / "git-trace.txt"
    trace.unlink(missing_ok=True)
    run(
        [*LANES, "detect", "--base", "HEAD^", "--format", "json"],
        repo,
        {**env, "GIT_TRACE": str(trace)},
    )
    git_calls = [line for line in trace.read_text().splitlines() if "trace: built-in: git" in line]
    from_list = [*LANES, "detect", "--paths-from-stdin", "--format", "json"]
    one_git = ["git", "diff", "--name-only", "-z", "--no-renames", "HEAD^", "HEAD"]
    return {
        "python -c pass": statistics.median(
            timed([sys.executable, "-c", "pass"], repo, env) for _ in range(runs)
        ),
        "lanes detect --paths-from-stdin (same paths)": statistics.median(
            timed(from_list, repo, env, paths) for _ in range(runs)
        ),
        "one git process (git diff --name-only)": statistics.median(
            timed(one_git, repo, env) for _ in range(runs)
        ),
        "git processes started by lanes": float(len(git_calls)),
    }


def scenario(
    repo: Path,
    name: str,
    changed: str,
    runs: int,
    commands: dict[str, list[str]],
    envs: dict[str, dict[str, str]],
) -> dict[str, Any]:
    write(repo / changed, f"export const changed = {json.dumps(name)};\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {changed}")
    for tool, command in commands.items():  # warm every cache once
        run(command, repo, envs[tool])
    samples: dict[str, list[float]] = {tool: [] for tool in commands}
    cpu: dict[str, list[float]] = {tool: [] for tool in commands}
    order = list(commands)
    for index in range(runs):
        rotated = order[index % len(order) :] + order[: index % len(order)]
        for tool in rotated:
            wall, used = timed_cpu(commands[tool], repo, envs[tool])
            samples[tool].append(wall)
            cpu[tool].append(used)
    medians = {tool: statistics.median(values) for tool, values in samples.items()}
    cpu_medians = {tool: statistics.median(values) for tool, values in cpu.items()}
    selected = answers(repo, commands, envs)
    return {
        "scenario": name,
        "changed": changed,
        "medians_s": medians,
        "ratio_lanes_turbo": medians["lanes"] / medians["turbo"],
        "ratio_lanes_nx": medians["lanes"] / medians["nx"],
        "cpu_medians_s": cpu_medians,
        "min_s": {tool: min(values) for tool, values in samples.items()},
        "selected": {tool: len(selected[tool]) for tool in ("lanes", "turbo", "nx")},
        "agree": selected["lanes"] == selected["turbo"] == selected["nx"],
        "lanes_mode": selected["lanes_mode"],
        "breakdown": breakdown(repo, runs, envs["lanes"], f"{changed}\n".encode()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=120)
    parser.add_argument("--files", type=int, default=15, help="files per package")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    base_env = dict(os.environ)
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)  # installed packages run from bytecode
    pnpm = install_pnpm(base_env)
    peers_env = {
        **base_env,
        "PATH": f"{pnpm.parent}{os.pathsep}{base_env.get('PATH', '')}",
        "TURBO_TELEMETRY_DISABLED": "1",
        "DO_NOT_TRACK": "1",
        "NX_DAEMON": "false",
        "NX_NO_CLOUD": "true",
        "NX_TUI": "false",
    }
    with tempfile.TemporaryDirectory() as directory:
        repo = Path(directory) / "ws"
        make_workspace(repo, args.packages, args.files)
        store = OUT / "pnpm-store"
        run([str(pnpm), "install", "--store-dir", str(store)], repo, peers_env)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "generated workspace")
        lanes_env = {
            **base_env,
            "LANES_CACHE_DIR": str(Path(directory) / "lanes-cache"),
            "PYTHONPATH": str(REPO_ROOT),
        }
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(REPO_ROOT / "lanes")], check=True
        )
        commands = {
            "lanes": [*LANES, "detect", "--base", "HEAD^", "--format", "json"],
            "turbo": [
                str(repo / "node_modules/.bin/turbo"),
                "ls",
                "--filter=...[HEAD^]",
                "--output=json",
            ],
            "nx": [
                str(repo / "node_modules/.bin/nx"),
                "show",
                "projects",
                "--affected",
                "--base=HEAD^",
                "--head=HEAD",
                "--json",
            ],
        }
        envs = {"lanes": lanes_env, "turbo": peers_env, "nx": peers_env}
        results = [
            scenario(
                repo, "low-level package", "packages/p003/src/m0.js", args.runs, commands, envs
            ),
            scenario(
                repo,
                "leaf package",
                f"packages/p{args.packages - 1:03d}/src/m0.js",
                args.runs,
                commands,
                envs,
            ),
        ]
    machine = {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "node": run(["node", "--version"], HERE, base_env).decode().strip(),
        "versions": {"pnpm": PNPM_VERSION, "turbo": TURBO_VERSION, "nx": NX_VERSION},
    }
    report = {"packages": args.packages, "files": args.packages * args.files, "machine": machine}
    print(json.dumps({**report, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
