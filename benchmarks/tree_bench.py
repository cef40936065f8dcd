"""Discovery through the tree interface: the work tree before and after, and a revision.

Usage: python benchmarks/tree_bench.py BASE_SOURCE [--runs N]

BASE_SOURCE is a directory holding the ``lanes`` package to compare with (for example
``git archive <commit> lanes | tar -x -C /tmp/base``). In one run, interleaved:

1. whole-process ``lanes detect --paths-from-stdin``, warm cache, 30 paths, on the 50-crate
   workspace of ``lanes_bench.py`` (committed), with BASE_SOURCE's lanes and with this tree's;
2. the workspace at ``HEAD`` in a fresh process (``lanes.audit.tree_at.workspace_at``): BASE's
   (temporary directory, index rebuilt every time), this tree's with no cached index, and this
   tree's with the index cached for another commit whose manifests are the same.
Each figure is the median of the runs, in seconds.
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

from lanes_bench import make_workspace, sample_paths  # noqa: E402

DETECT = ["-m", "lanes.cli", "detect", "--paths-from-stdin", "--format", "json"]
AT_HEAD = (
    "import sys; from pathlib import Path; from lanes.audit.tree_at import workspace_at\n"
    "with workspace_at(Path(sys.argv[1]), 'HEAD', 'lanes.yml') as w: assert w.index.kinds\n"
)


def run(source: Path, args: list[str], repo: Path, cache: Path, stdin: bytes = b"") -> float:
    env = {**os.environ, "PYTHONPATH": str(source), "LANES_CACHE_DIR": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args], input=stdin, cwd=repo, env=env, capture_output=True, check=True
    )
    return time.perf_counter() - start


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    new = HERE.parent
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        repo = make_workspace(tmp / "ws", 50, 10)
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "initial")
        paths = sample_paths(50, 10, 30)
        samples: dict[str, list[float]] = {}
        variants = {
            "detect_warm_base_s": (args.base, DETECT, tmp / "c-base"),
            "detect_warm_new_s": (new, DETECT, tmp / "c-new"),
            "workspace_at_base_s": (args.base, ["-c", AT_HEAD, str(repo)], tmp / "c-base"),
            "workspace_at_new_uncached_s": (new, ["-c", AT_HEAD, str(repo)], None),
            "workspace_at_new_cached_s": (new, ["-c", AT_HEAD, str(repo)], tmp / "c-new"),
        }
        for source, command, cache in variants.values():  # warm caches and bytecode
            run(source, command, repo, cache or tmp / "c-none", paths)
        git(repo, "commit", "-q", "--allow-empty", "-m", "same manifests")
        for index in range(args.runs):
            for name, (source, command, cache) in variants.items():
                where = cache if cache is not None else tmp / f"c-fresh-{index}"
                samples.setdefault(name, []).append(run(source, command, repo, where, paths))
    for name, values in samples.items():
        print(f"{name:32s} {statistics.median(values):8.4f}")
    base, new_detect = (statistics.median(samples[k]) for k in list(variants)[:2])
    print(f"{'detect new/base':32s} {new_detect / base:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
