"""``lanes detect --base HEAD~1`` cost, two checkouts of lanes side by side in one run.

Usage: python benchmarks/detect_base_bench.py [--runs N] [--crates N] [--against DIR]

Two 50-crate Cargo workspaces (``lanes_bench.make_workspace``) as git repositories, each with
one more commit: one changes a source file (no manifest: the base graph is not loaded), the
other removes a dependency edge from one member's manifest (the base graph is loaded from git
objects and compared). Whole-process ``lanes detect --base HEAD~1 --format json`` (warm cache),
medians of N runs.
With ``--against DIR`` (another checkout, e.g. main's) each case is timed with both, alternating.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lanes_bench import crate_name, make_workspace  # noqa: E402


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True)


def build(root: Path, crates: int, *, manifest: bool) -> Path:
    """The workspace with one more commit: a source file changed, or (``manifest``) one
    dependency line removed from the last member's manifest."""
    repo = make_workspace(root, crates, 5)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    if manifest:
        changed = repo / "crates" / crate_name(crates - 1) / "Cargo.toml"
        lines = changed.read_text().splitlines(keepends=True)
        changed.write_text("".join(lines[:-1]))
    else:
        (repo / "crates" / crate_name(crates // 2) / "src" / "m0.rs").write_text("// changed\n")
    git(repo, "commit", "-q", "-am", "the change")
    return repo


def timed(checkout: Path, repo: Path, args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode compiled, as an installed lanes is
    command = [sys.executable, "-m", "lanes.cli", "detect", "--format", "json", *args]
    start = time.perf_counter()
    subprocess.run(command, cwd=repo, env=env, capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--crates", type=int, default=50)
    parser.add_argument("--against", type=Path, help="another lanes checkout to compare with")
    options = parser.parse_args()
    checkouts = {"this": HERE.parent}
    if options.against:
        checkouts["against"] = options.against.resolve()
    cases = {"source-only change": False, "manifest change (one edge removed)": True}
    with tempfile.TemporaryDirectory() as tmp:
        for label, manifest in cases.items():
            repo = build(Path(tmp) / label.split()[0], options.crates, manifest=manifest)
            args = ["--base", "HEAD~1"]
            samples: dict[str, list[float]] = {name: [] for name in checkouts}
            for checkout in checkouts.values():
                timed(checkout, repo, args)  # warm the caches
            order = list(checkouts.items())
            for _ in range(options.runs):
                for name, checkout in order:
                    samples[name].append(timed(checkout, repo, args))
                order.reverse()
            medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
            shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in medians.items())
            ratio = ""
            if "against" in medians:
                ratio = f" (ratio {medians['this'] / medians['against']:.2f})"
            print(f"{label}, detect --base HEAD~1: {shown}{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
