"""Benchmarks for ``lanes audit`` (results go to docs/benchmarks.md; nothing here is a test).

Usage: python benchmarks/audit_bench.py [--quick] [--runs N]

1. ``lanes audit coverage`` of a synthetic 100k-file, 5k-crate Cargo workspace (the workspace of
   benchmarks/lanes_bench.py), warm index cache: the whole process, and the audit itself
   (``git ls-files -z`` + resolving every file) measured inside it. Goal: <= 2 s.
2. ``lanes audit history`` replaying ~1,000 commits of a 2.5k-file, 100-crate repository built
   with ``git fast-import``: commits per second for the whole process, alone, against another
   configuration, and against a bash ``case`` detector (one process per commit).
   Goal: >= 200 commits/s.
3. ``lanes audit history`` of a 300-commit range of a 45-crate repository whose ``lanes.yml``
   changes twice in the range, a crate's ``Cargo.toml`` gains or loses a dependency edge every
   50 commits and ``Cargo.lock`` changes every 50 commits (each commit judged with the graph and
   the ``lanes.yml`` at that commit), warm cache: without a comparison (goal >= 500 commits/s),
   and against a bash ``case`` detector with per-path attribution (one detector run per commit
   and per owner group, goal >= 50 commits/s) and without it; ``--fixed-graph`` and
   ``--fixed-config`` side by side; and, in process, what the graph at a commit costs when its
   discovery inputs did not change (a memo hit) and when they did (built, or read from the
   cross-run cache).
Each figure is the median of several runs. Whole-process runs use compiled bytecode (written
once under a temporary ``PYTHONPYCACHEPREFIX``, as an installed package has it) even where
``PYTHONDONTWRITEBYTECODE`` is set; a one-commit range is also timed with it set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def history_repo(
    root: Path,
    crates: int,
    files_per_crate: int,
    commits: int,
    lanes_yml: str = HISTORY_LANES,
    config_every: int = 0,
    manifest_every: int = 0,
) -> Path:
    """A repository built with ``git fast-import``: one import commit, then ``commits`` commits
    each changing 1-4 files (now and then Cargo.lock or docs; with ``config_every``, lanes.yml
    every that many commits; with ``manifest_every``, a crate's Cargo.toml gains a dependency
    every that many commits)."""
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
    files["lanes.yml"] = lanes_yml
    files["docs/index.md"] = "# docs\n"
    stream = [_commit(1, "import", files)]
    sources = sorted(path for path in files if path.endswith(".rs"))
    for number in range(commits):
        touched = {path: f"// {number}\n" for path in rng.sample(sources, rng.randint(1, 4))}
        if number % 50 == 0:
            touched["Cargo.lock"] = f"# lock {number}\n"
        if number % 20 == 7:
            touched["docs/index.md"] = f"# docs {number}\n"
        if manifest_every and number % manifest_every == manifest_every // 2:
            touched |= _toggle_edge(files, rng, crates)
        if config_every and number % config_every == config_every - 1:
            touched["lanes.yml"] = f"# revision {number}\n{lanes_yml}"
        stream.append(_commit(number + 2, f"change {number}", touched))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(stream), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=root, check=True)
    return root


def _toggle_edge(files: dict[str, str], rng: random.Random, crates: int) -> dict[str, str]:
    """Add a dependency edge to a crate's manifest, or remove it if it is there."""
    crate = rng.randrange(1, crates)
    dep = rng.randrange(crate)
    path = f"crates/h{crate:03d}/Cargo.toml"
    line = f'h{dep:03d} = {{ path = "../h{dep:03d}" }}\n'
    text = files[path]
    files[path] = text.replace(line, "") if line in text else text + line
    return {path: files[path]}


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


ATTRIBUTION_LANES = """\
version: 1
global: ["Cargo.lock", "Cargo.toml"]
ignore: ["docs/**"]
lanes:
  top:
    roots: [h044]
  mid:
    roots: [h030]
  low:
    roots: [h010]
  docs:
    paths: ["docs/**"]
"""

ATTRIBUTION_DETECTOR = """\
#!/usr/bin/env bash
# hand-kept lists: crates h00-h09 were never added to "mid" and "top"
top=false; mid=false; low=false; docs=false
while IFS= read -r path; do
  case "$path" in
    Cargo.lock|Cargo.toml) top=true; mid=true; low=true; docs=true ;;
    crates/h04*|crates/h03*) top=true; mid=true ;;
    crates/h0[12]*) top=true; mid=true; low=true ;;
    crates/h00*) low=true ;;
    docs/*) docs=true ;;
  esac
done
echo "top_changed=$top"; echo "mid_changed=$mid"; echo "low_changed=$low"
echo "docs_changed=$docs" >> "$GITHUB_OUTPUT"
"""
ATTRIBUTION_MAP = "top_changed=top,mid_changed=mid,low_changed=low,docs_changed=docs"


IN_PROCESS_HISTORY = """
import sys, time
from pathlib import Path
from lanes.audit import gitsource
from lanes.audit.against import CommandAgainst, parse_map
from lanes.audit.graph_at import GraphAtCommit
from lanes.audit.history import HistorySummary, replay
from lanes.git.commits import iter_raw_changes
from lanes.workspace import load_workspace
repo, rev_range, command, mapping = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
workspace = load_workspace(repo)
start = time.perf_counter()
judges = GraphAtCommit(workspace, "lanes.yml", repo / "lanes.yml")
against = None
if command:
    lanes = list(workspace.config.lanes)
    against = CommandAgainst(command, repo, lanes, parse_map(mapping, lanes))
summary = HistorySummary(rev_range, None)
commits = judges.observe(iter_raw_changes(repo, rev_range))
subjects = gitsource.iter_subjects(repo, rev_range)
for _ in replay(commits, subjects, judges, against, summary, attribution=True):
    pass
print(time.perf_counter() - start, summary.commits)
"""


IN_PROCESS_GRAPHS = """
import json, sys, time
from pathlib import Path
from lanes.audit.graph_at import GraphAtCommit
from lanes.git.commits import iter_raw_changes
from lanes.workspace import load_workspace
repo, rev_range, use_cache = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
fixed = load_workspace(repo)
graphs = GraphAtCommit(fixed, "lanes.yml", repo / "lanes.yml", use_cache=use_cache)
spent = {"memo": [], "built": [], "cached": [], "listed": []}
for sha, _ in graphs.observe(iter_raw_changes(repo, rev_range)):
    before = dict(graphs.stats)
    start = time.perf_counter()
    graphs.at(sha)
    seconds = time.perf_counter() - start
    grown = [k for k in ("listed", "built", "cached", "memo") if graphs.stats[k] > before.get(k, 0)]
    spent[grown[0]].append(seconds)
print(json.dumps(spent))
"""


def graph_costs(env: dict[str, str], repo: Path, rev_range: str, cached: bool) -> dict[str, Any]:
    """Seconds each commit's ``GraphAtCommit.at`` took, by what it cost (one run)."""
    flag = "1" if cached else ""
    command = [sys.executable, "-c", IN_PROCESS_GRAPHS, str(repo), rev_range, flag]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    spent: dict[str, Any] = json.loads(out)
    return spent


def in_process(runs: int, env: dict[str, str], *args: str) -> float:
    """Median seconds of the replay alone (start-up excluded), run in a fresh interpreter."""
    command = [sys.executable, "-c", IN_PROCESS_HISTORY, *args]
    return statistics.median(
        float(
            subprocess.run(
                command, env=env, capture_output=True, text=True, check=True
            ).stdout.split()[0]
        )
        for _ in range(runs)
    )


def bench_attribution(tmp: Path, runs: int, env: dict[str, str]) -> dict[str, float]:
    """300 commits of a 45-crate repository: per-commit graph and configuration, per-path
    attribution."""
    commits = 300
    repo = history_repo(tmp / "attribution", 45, 25, commits, ATTRIBUTION_LANES, 120, 50)
    detector = tmp / "attribution-detector.sh"
    detector.write_text(ATTRIBUTION_DETECTOR)
    rev_range = f"HEAD~{commits}..HEAD"
    base = [*LANES, "audit", "history", rev_range, "--format", "json"]
    base += ["--output", os.devnull, "--allow-against-errors"]
    legacy = ["--against-command", f"bash {detector}", "--against-map", ATTRIBUTION_MAP]
    cold = timed(base, repo, env)  # builds and caches each graph (and configuration)
    graphs_cold = graph_costs(env, repo, rev_range, cached=False)
    graphs_warm = graph_costs(env, repo, rev_range, cached=True)
    one_commit = [*base[: len(LANES) + 2], "HEAD~1..HEAD", *base[len(LANES) + 3 :]]
    variants = {
        "alone": base,
        "alone_fixed_graph": [*base, "--fixed-graph"],
        "alone_fixed_graph_and_config": [*base, "--fixed-graph", "--fixed-config"],
        "one_commit": one_commit,
        "bash_with_attribution": [*base, *legacy],
        "bash_commit_level_only": [*base, *legacy, "--no-attribution"],
    }
    no_bytecode = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    no_bytecode.pop("PYTHONPYCACHEPREFIX", None)
    runs_in = {name: (command, env) for name, command in variants.items()}
    runs_in["one_commit_no_bytecode"] = (one_commit, no_bytecode)
    runs_in["python_bare"] = ([sys.executable, "-c", "pass"], env)
    for command, variant_env in runs_in.values():
        timed(command, repo, variant_env)  # warm every cache the variant reads
    times = interleaved(runs, runs_in, repo)
    inside_alone = in_process(runs, env, str(repo), rev_range, "", "")
    inside_bash = in_process(runs, env, str(repo), rev_range, f"bash {detector}", ATTRIBUTION_MAP)
    out = subprocess.run(
        [*base[:-3], *legacy], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads(out)["summary"]
    results: dict[str, float] = {
        "attribution_commits": commits,
        "attribution_distinct_graphs": summary["graphs"],
        "attribution_latent_gaps": len(summary["latent_gaps"]),
        "attribution_under_triggered_commits": summary["under_triggered"],
        "attribution_cold_cache_whole_process_s": cold,
        "attribution_one_commit_whole_process_s": times["one_commit"],
        "attribution_one_commit_no_bytecode_s": times["one_commit_no_bytecode"],
        "python_bare_s": times["python_bare"],
    }
    for name in ("alone", "alone_fixed_graph", "alone_fixed_graph_and_config"):
        results[f"attribution_{name}_s"] = times[name]
        results[f"attribution_{name}_commits_per_s"] = commits / times[name]
    for name in ("bash_with_attribution", "bash_commit_level_only"):
        results[f"attribution_{name}_s"] = times[name]
        results[f"attribution_{name}_commits_per_s"] = commits / times[name]
    results["attribution_per_commit_graph_time_ratio"] = times["alone"] / times["alone_fixed_graph"]
    results["attribution_replay_alone_in_process_commits_per_s"] = commits / inside_alone
    results["attribution_replay_bash_in_process_commits_per_s"] = commits / inside_bash
    for label, spent in (("cold", graphs_cold), ("warm", graphs_warm)):
        for kind, seconds in spent.items():
            if seconds:
                results[f"graph_at_{label}_{kind}_commits"] = len(seconds)
                results[f"graph_at_{label}_{kind}_median_us"] = statistics.median(seconds) * 1e6
    return results


def interleaved(
    runs: int, variants: dict[str, tuple[list[str], dict[str, str]]], cwd: Path
) -> dict[str, float]:
    """Median seconds of each variant (command, environment), run in turn (round-robin), so
    that a change of the machine's load hits every variant alike and the ratios hold."""
    spent: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (command, env) in variants.items():
            spent[name].append(timed(command, cwd, env))
    return {name: statistics.median(seconds) for name, seconds in spent.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 crates, 200 commits")
    parser.add_argument("--only-attribution", action="store_true", help="benchmark 3 only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        env = {**os.environ, "LANES_CACHE_DIR": str(tmp / "cache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure compiled bytecode, as installed
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        machine("start")
        results = bench_attribution(tmp, args.runs, env)
        if args.only_attribution:
            _print(results)
            machine("end")
            return 0
        results |= bench_history(tmp, args.runs, env, 200 if args.quick else 1000)
        results |= bench_coverage(tmp, args.runs, env, 500 if args.quick else 5000)
    _print(results)
    machine("end")
    return 0


def machine(when: str) -> None:
    """What the figures were measured on, and the load average (the machine may be shared)."""
    print(f"# {platform.platform()} | python {platform.python_version()} | nproc {os.cpu_count()}")
    one, five, fifteen = os.getloadavg()
    print(f"# load average at {when}: {one:.2f} {five:.2f} {fifteen:.2f}", flush=True)


def _print(results: dict[str, float]) -> None:
    for name, value in results.items():
        print(f"{name:50s} {value:10.3f}")


if __name__ == "__main__":
    sys.exit(main())
