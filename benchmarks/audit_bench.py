"""Benchmarks for ``lanes audit`` (results go to docs/benchmarks.md; nothing here is a test).

Usage: python benchmarks/audit_bench.py [--quick] [--runs N]

1. ``lanes audit coverage`` of a synthetic 100k-file, 5k-crate Cargo workspace (the workspace of
   benchmarks/lanes_bench.py), warm index cache: the whole process, and the audit itself
   (``git ls-files -z`` + resolving every file) measured inside it. Goal: <= 2 s.
2. ``lanes audit history`` replaying ~1,000 commits of a 2.5k-file, 100-crate repository built
   with ``git fast-import``: commits per second for the whole process, alone, against another
   configuration, and against a bash ``case`` detector (one process per commit).
   Goal: >= 200 commits/s.
Each figure is the median of several runs.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lanes_bench import make_workspace  # noqa: E402

LANES = [
    sys.executable,
    "-c",
    "import sys; from lanes.cli import main; sys.exit(main(sys.argv[1:]))",
]
IN_PROCESS_COVERAGE = """
import sys, time
from pathlib import Path
from lanes.workspace import load_workspace
from lanes.audit.gitsource import tracked_files
from lanes.audit.coverage import audit_coverage
repo = Path(sys.argv[1])
workspace = load_workspace(repo)
start = time.perf_counter()
report = audit_coverage(tracked_files(repo), workspace)
print(time.perf_counter() - start, report.files_total, len(report.components))
"""


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def median_time(runs: int, command: list[str], cwd: Path, env: dict[str, str]) -> float:
    return statistics.median(timed(command, cwd, env) for _ in range(runs))


# --------------------------------------------------------------------------- coverage


def bench_coverage(tmp: Path, runs: int, env: dict[str, str], crates: int) -> dict[str, float]:
    repo = make_workspace(tmp / "ws", crates, 20)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    command = [*LANES, "audit", "coverage", "--format", "json", "--output", os.devnull]
    timed(command, repo, env)  # builds and caches the index
    whole = median_time(runs, command, repo, env)
    inside = statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", IN_PROCESS_COVERAGE, str(repo)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[0]
        )
        for _ in range(runs)
    )
    files = (
        len(
            subprocess.run(
                ["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True
            ).stdout.split(b"\0")
        )
        - 1
    )
    return {
        "coverage_files": files,
        "coverage_components": crates,
        "coverage_whole_process_s": whole,
        "coverage_audit_in_process_s": inside,
    }


# --------------------------------------------------------------------------- history


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def _manifest(i: int, rng: random.Random) -> str:
    deps = sorted({rng.randrange(i) for _ in range(3)}) if i else []
    lines = "".join(f'h{d:03d} = {{ path = "../h{d:03d}" }}\n' for d in deps)
    return f'[package]\nname = "h{i:03d}"\nversion = "0.1.0"\n\n[dependencies]\n{lines}'


HISTORY_LANES = """\
version: 1
global: ["Cargo.lock", "Cargo.toml"]
ignore: ["docs/**"]
lanes:
  top:
    roots: [h099]
  mid:
    roots: [h060]
  low:
    roots: [h020]
  docs:
    paths: ["docs/**"]
"""


def history_repo(root: Path, crates: int, files_per_crate: int, commits: int) -> Path:
    """A repository built with ``git fast-import``: one import commit, then ``commits`` commits
    each changing 1-4 files (now and then Cargo.lock or docs)."""
    rng = random.Random(11)
    root.mkdir(parents=True)
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q"], cwd=root, check=True)
    files = {
        f"crates/h{i:03d}/src/m{f}.rs": ""
        for i in range(crates)
        for f in range(files_per_crate - 1)
    }
    files |= {f"crates/h{i:03d}/Cargo.toml": _manifest(i, rng) for i in range(crates)}
    files["Cargo.toml"] = '[workspace]\nmembers = ["crates/*"]\n'
    files["Cargo.lock"] = "# lock\n"
    files["lanes.yml"] = HISTORY_LANES
    files["docs/index.md"] = "# docs\n"
    stream = [_commit(1, "import", files)]
    sources = sorted(path for path in files if path.endswith(".rs"))
    for number in range(commits):
        touched = {path: f"// {number}\n" for path in rng.sample(sources, rng.randint(1, 4))}
        if number % 50 == 0:
            touched["Cargo.lock"] = f"# lock {number}\n"
        if number % 20 == 7:
            touched["docs/index.md"] = f"# docs {number}\n"
        stream.append(_commit(number + 2, f"change {number}", touched))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True)
    return root


def _commit(number: int, message: str, files: dict[str, str]) -> bytes:
    header = (
        b"commit refs/heads/main\n"
        + b"committer Bench <bench@example.invalid> %d +0000\n" % (1_700_000_000 + number)
        + _data(message)
    )
    body = b"".join(
        b"M 100644 inline " + path.encode() + b"\n" + _data(text) for path, text in files.items()
    )
    return header + body + b"\n"


CASE_DETECTOR = """\
#!/usr/bin/env bash
top=false; mid=false; low=false; docs=false
while IFS= read -r path; do
  case "$path" in
    Cargo.lock|Cargo.toml) top=true; mid=true; low=true; docs=true ;;
    crates/h09*) top=true ;;
    crates/h06*|crates/h05*) top=true; mid=true ;;
    crates/*) top=true; mid=true; low=true ;;
    docs/*) docs=true ;;
  esac
done
echo "top=$top"; echo "mid=$mid"; echo "low=$low"; echo "docs=$docs"
"""


def bench_history(tmp: Path, runs: int, env: dict[str, str], commits: int) -> dict[str, float]:
    repo = history_repo(tmp / "history", 100, 25, commits)
    count = int(
        subprocess.run(
            ["git", "rev-list", "--count", f"HEAD~{commits}..HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    other = tmp / "other.yml"
    other.write_text(HISTORY_LANES.replace("roots: [h060]", "roots: [h070]"))
    detector = tmp / "detector.sh"
    detector.write_text(CASE_DETECTOR)
    base = [
        *LANES,
        "audit",
        "history",
        f"HEAD~{commits}..HEAD",
        "--format",
        "json",
        "--output",
        os.devnull,
    ]
    timed(base, repo, env)  # warm the index cache
    alone = median_time(runs, base, repo, env)
    against = median_time(runs, [*base, "--against-config", str(other)], repo, env)
    command = timed([*base, "--against-command", f"bash {detector}"], repo, env)
    files = len(
        subprocess.run(
            ["git", "ls-files"], cwd=repo, capture_output=True, check=True
        ).stdout.splitlines()
    )
    return {
        "history_files": files,
        "history_commits": count,
        "history_s": alone,
        "history_commits_per_s": count / alone,
        "history_against_config_commits_per_s": count / against,
        "history_against_bash_command_commits_per_s": count / command,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 crates, 200 commits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        env = {**os.environ, "LANES_CACHE_DIR": str(tmp / "cache")}
        results = bench_history(tmp, args.runs, env, 200 if args.quick else 1000)
        results |= bench_coverage(tmp, args.runs, env, 500 if args.quick else 5000)
    for name, value in results.items():
        print(f"{name:45s} {value:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
