"""session_core benchmarks: committed runtime-backed turns per second, and recovery time.

    python benchmarks/session_core_bench.py                 # full run (10k-session recovery)
    python benchmarks/session_core_bench.py --quick         # smaller numbers, seconds

Turns are real runtime-backed turns through ``SessionService.run_turn`` (accept, run lease,
scripted agent with one tool batch and one in-run checkpoint, atomic commit, post-commit
projection). SQLite uses the default durable settings: WAL + ``synchronous=FULL`` (fsync),
runtime and projection in separate files. The recovery setup writes its 10k sessions with bulk
inserts (not timed); ``lagging`` of them get a projection one turn behind and ``missing`` none.

The throughput section measures, in one run and on the same disk (``--dir``): raw single-row
WAL + ``synchronous=FULL`` commits/s (the fsync ceiling of one writer), committed turns/s with
``--sessions`` concurrent sessions (one thread per session in one process, and the same
sessions spread over ``--processes`` processes), their ratio, and the fsyncs per turn counted
by ``strace -f -c -e trace=fsync,fdatasync`` (skipped, with a message, when strace is absent).
``--slow-fsync-ms`` repeats the raw commits and the threaded turns with every fsync made that
much slower (strace fault injection), for disks whose sync is slow enough for batching to show.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from session_core.codec import derive_receipt, encode_session
from session_core.factory import memory_service, sqlite_service
from session_core.model import Message, Session, row_token
from session_core.service import SessionService


def bench_turns(svc: SessionService, sessions: int, turns: int) -> dict[str, float]:
    ids = [f"bench-{i}" for i in range(sessions)]
    for sid in ids:
        svc.create(sid)
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    for turn in range(turns):
        for sid in ids:
            outcome = svc.run_turn(sid, f"turn {turn}")
            if type(outcome).__name__ != "Completed":
                raise SystemExit(f"benchmark turn not completed: {outcome}")
            done += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "turns": done,
        "seconds": elapsed,
        "turns_per_s": done / elapsed,
        "cpu_ms_per_turn": 1000 * cpu / done,
    }


def bench_raw_commits(base: Path, commits: int) -> dict[str, float]:
    """Single-row transactions on a fresh WAL + ``synchronous=FULL`` file: one fsync'd commit
    each, the ceiling a one-transaction-per-turn design cannot beat."""
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        conn = sqlite3.connect(Path(tmp) / "raw.sqlite", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
        payload = b"x" * 200
        start = time.perf_counter()
        for _ in range(commits):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (payload,))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
    return {"commits": commits, "seconds": elapsed, "commits_per_s": commits / elapsed}


def _session_ids(sessions: int) -> list[str]:
    return [f"bench-{i}" for i in range(sessions)]


def _turns_of(svc: SessionService, sids: list[str], turns: int, errors: list[str]) -> None:
    for turn in range(turns):
        for sid in sids:
            outcome = svc.run_turn(sid, f"turn {turn}")
            if type(outcome).__name__ != "Completed":
                errors.append(f"{sid}: {outcome}")
                return


def threaded_turns(root: Path, sessions: int, turns: int) -> dict[str, float]:
    """``sessions`` threads, one session each, sharing one service (one connection per file)."""
    svc = sqlite_service(root)
    sids = _session_ids(sessions)
    for sid in sids:
        svc.create(sid)
    errors: list[str] = []
    threads = [threading.Thread(target=_turns_of, args=(svc, [sid], turns, errors)) for sid in sids]
    committer = _runtime_committer(svc)
    batches, members = committer.batches, committer.members
    start, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    batches, members = committer.batches - batches, committer.members - members
    svc.close()
    if errors:
        raise SystemExit(f"benchmark turn not completed: {errors[0]}")
    done = sessions * turns
    return {
        "turns": done,
        "seconds": elapsed,
        "turns_per_s": done / elapsed,
        "cpu_ms_per_turn": 1000 * cpu / done,
        "runtime_transactions_per_turn": batches / done,
        "runtime_writes_per_batch": members / max(batches, 1),
    }


def _runtime_committer(svc: SessionService) -> Any:
    """The group committer of the runtime file's connection (its batch counters)."""
    return svc.runtime.db._current().committer  # type: ignore[union-attr]


def _process_worker(
    root: str, sids: list[str], turns: int, ready: Any, go: Any, results: Any
) -> None:
    svc = sqlite_service(root, mode="open")
    errors: list[str] = []
    threads = [threading.Thread(target=_turns_of, args=(svc, [s], turns, errors)) for s in sids]
    ready.release()
    go.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    svc.close()
    results.put((time.time(), errors))


def process_turns(root: Path, sessions: int, turns: int, processes: int) -> dict[str, float]:
    """The same sessions spread over ``processes`` processes on one data directory (each a
    thread per session); timed from the common start to the last process's end."""
    svc = sqlite_service(root)
    sids = _session_ids(sessions)
    for sid in sids:
        svc.create(sid)
    svc.close()
    ctx = multiprocessing.get_context("spawn")
    ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(
            target=_process_worker,
            args=(str(root), sids[p::processes], turns, ready, go, results),
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    start = time.time()
    go.set()
    ends, errors = [], []
    for _ in workers:
        end, errs = results.get()
        ends.append(end)
        errors.extend(errs)
    for worker in workers:
        worker.join()
    if errors or any(w.exitcode != 0 for w in workers):
        raise SystemExit(f"benchmark turn not completed: {errors[:1]}")
    elapsed = max(ends) - start
    done = sessions * turns
    return {
        "processes": processes,
        "turns": done,
        "seconds": elapsed,
        "turns_per_s": done / elapsed,
    }


def _strace_calls(report: str) -> int:
    """The total ``calls`` of fsync and fdatasync in a ``strace -c`` summary."""
    total = 0
    for line in report.splitlines():
        fields = line.split()
        if fields and fields[-1] in ("fsync", "fdatasync"):
            total += int(fields[3])
    return total


def _strace_child(base: Path, sessions: int, turns: int) -> int:
    """Run the threaded workload in a child under strace; the fsync + fdatasync calls."""
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        out = Path(tmp) / "strace.txt"
        data = Path(tmp) / "data"
        data.mkdir()
        command = [
            "strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(out),
            sys.executable, __file__, "--child-threads", str(data),
            "--sessions", str(sessions), "--turns", str(turns),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return _strace_calls(out.read_text())


def fsyncs_per_turn(base: Path, sessions: int, turns: int) -> dict[str, float] | str:
    """fsyncs per committed turn: (calls with 2 x ``turns`` turns - calls with ``turns``) /
    the extra turns, so creating the sessions, starting a WAL and the checkpoint at close
    (the same in both runs) are not counted."""
    if shutil.which("strace") is None:
        return "skipped: strace is not installed (apt-get install -y strace)"
    try:
        double = _strace_child(base, sessions, 2 * turns)
        single = _strace_child(base, sessions, turns)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"skipped: strace failed ({exc})"
    done = sessions * turns
    return {
        "turns": done,
        "fsync_calls": double - single,
        "calls_single": single,
        "calls_double": double,
        "fsyncs_per_turn": (double - single) / done,
    }


def slow_disk(
    base: Path, sessions: int, turns: int, commits: int, delay_ms: float
) -> dict[str, object] | str:
    """Raw commits and threaded turns, in one child, on a disk whose every fsync and fdatasync
    takes ``delay_ms`` longer (strace's ``inject=...:delay_exit``; with ``--seccomp-bpf`` no
    other system call stops), as on a disk with a slow cache flush. Where the real disk syncs
    faster than a turn's CPU, only a slower sync shows what batching buys."""
    if shutil.which("strace") is None:
        return "skipped: strace is not installed (apt-get install -y strace)"
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        delay = f"inject=fsync,fdatasync:delay_exit={round(delay_ms * 1000)}"
        command = [
            "strace", "-f", "-qq", "--seccomp-bpf", "-o", os.devnull,
            "-e", "trace=fsync,fdatasync", "-e", delay,
            sys.executable, __file__, "--child-slow-disk", str(data),
            "--sessions", str(sessions), "--turns", str(turns), "--raw-commits", str(commits),
        ]  # fmt: skip
        try:
            done = subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            return f"skipped: strace failed ({exc})"
    result: dict[str, object] = json.loads(done.stdout)
    return {"delay_ms": delay_ms, **result}


def child_slow_disk(root: Path, sessions: int, turns: int, commits: int) -> None:
    """``--child-slow-disk DIR``: what :func:`slow_disk` times under strace, as JSON."""
    raw = bench_raw_commits(root, commits)
    (root / "turns").mkdir()
    threads = threaded_turns(root / "turns", sessions, turns)
    ratio = threads["turns_per_s"] / raw["commits_per_s"]
    print(json.dumps({"raw_commits": raw, "threads": threads, "ratio_threads": ratio}))


def bench_throughput(
    base: Path, sessions: int, turns: int, processes: list[int], commits: int
) -> dict[str, object]:
    raw = bench_raw_commits(base, commits)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        threads = threaded_turns(Path(tmp), sessions, turns)
    result: dict[str, object] = {
        "dir": str(base),
        "raw_commits": raw,
        "threads": threads,
        "ratio_threads": threads["turns_per_s"] / raw["commits_per_s"],
    }
    spread = []
    for count in processes:
        with tempfile.TemporaryDirectory(dir=base) as tmp:
            procs = process_turns(Path(tmp), sessions, turns, count)
        spread.append({**procs, "ratio": procs["turns_per_s"] / raw["commits_per_s"]})
    result["processes"] = spread
    result["fsyncs"] = fsyncs_per_turn(base, sessions, turns)
    return result


def statements_per_turn(turns: int = 5) -> dict[str, float]:
    """SQL statements a committed turn runs on each file (one session, after a first turn),
    counted with ``set_trace_callback``: deterministic, so it is compared across trees exactly
    where timings cannot be."""
    counts = {"runtime": 0, "projection": 0}
    with tempfile.TemporaryDirectory() as tmp:
        svc = sqlite_service(tmp)
        svc.create("s1")
        svc.run_turn("s1", "first")
        for name, store in (("runtime", svc.runtime), ("projection", svc.sessions)):

            def count(_sql: str, name: str = name) -> None:
                counts[name] += 1

            store.db._connection().set_trace_callback(count)  # type: ignore[union-attr]
        for n in range(turns):
            svc.run_turn("s1", f"turn {n}")
        svc.close()
    return {name: total / turns for name, total in counts.items()}


def _statements(conn: sqlite3.Connection, count: int) -> None:
    for _ in range(count):
        conn.execute("SELECT 1").fetchone()
        sum(range(50))  # a little Python between statements, as on the turn path


def statement_threads(statements: int = 60_000, threads: int = 20) -> dict[str, float]:
    """CPU time of the same statements (each on its own in-memory connection, nothing
    shared) run by one thread and by ``threads`` threads: the sqlite3 module releases the GIL
    around every step, so with several runnable threads each statement hands the GIL over."""
    result: dict[str, float] = {}
    for n in (1, threads):
        conns = [sqlite3.connect(":memory:", check_same_thread=False) for _ in range(n)]
        workers = [threading.Thread(target=_statements, args=(c, statements // n)) for c in conns]
        cpu = time.process_time()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        result[f"us_per_statement_{n}"] = 1e6 * (time.process_time() - cpu) / statements
        for conn in conns:
            conn.close()
    result["ratio"] = result[f"us_per_statement_{threads}"] / result["us_per_statement_1"]
    return result


def length_scaling(turns: int, block: int) -> dict[str, list[float]]:
    """CPU per turn of one session as it grows (memory backend, and SQLite with fsync), per
    ``block`` of turns: the turn path still reads, checks, encodes and hashes the whole
    transcript (the projection row, the snapshot digest), so its cost grows with the length."""
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, svc in (("memory", memory_service()), ("sqlite", sqlite_service(tmp))):
            svc.create("long")
            costs = []
            for start in range(0, turns, block):
                cpu = time.process_time()
                for turn in range(start, start + block):
                    svc.run_turn("long", f"turn {turn}")
                costs.append(1000 * (time.process_time() - cpu) / block)
            out[name] = costs
            svc.close()
    return out


def _doc(sid: str, turns: int) -> Session:
    messages = [Message("system", "You are a helpful assistant.", id="system")]
    for t in range(turns):
        messages.append(Message("user", f"message {t}", id=f"{sid}.in{t}"))
        messages.append(Message("assistant", f"answer {t}", id=f"{sid}.a{t}"))
    return Session(sid, tuple(messages))


def seed_recovery(root: Path, sessions: int, lagging: int, missing: int) -> None:
    """Bulk-load ``sessions`` committed sessions (2 turns each) into fresh SQLite files."""
    sqlite_service(root).close()  # create files and schema
    runtime = sqlite3.connect(root / "runtime.sqlite")
    projection = sqlite3.connect(root / "sessions.sqlite3")
    with runtime, projection:
        for i in range(sessions):
            sid = f"rec-{i:06d}"
            full = _doc(sid, 2)
            snapshot = encode_session(full)
            runtime.execute(
                "INSERT INTO rt_sessions (session_id, snapshot, state, run_counter,"
                " snapshot_digest) VALUES (?, ?, 'idle', 2, ?)",
                (sid, snapshot, hashlib.sha256(snapshot).hexdigest()),
            )
            for n in (1, 2):
                receipt = derive_receipt(
                    snapshot if n == 2 else encode_session(_doc(sid, 1)),
                    session_id=sid,
                    run_id=f"run-{n}",
                    sequence=1,
                    kind="terminal",
                    input_ids=[f"{sid}.in{n - 1}"],
                )
                runtime.execute(
                    "INSERT INTO rt_receipts (session_id, run_id, sequence, kind, input_ids,"
                    " digest, message_count) VALUES (?, ?, 1, 'terminal', ?, ?, ?)",
                    (
                        sid,
                        receipt.run_id,
                        json.dumps(list(receipt.input_ids)),
                        receipt.digest,
                        receipt.message_count,
                    ),
                )
            if i < missing:
                continue
            row = _doc(sid, 1) if i < missing + lagging else full
            data = encode_session(row)
            projection.execute(
                "INSERT INTO ss_rows (session_id, row, token, revision, lifecycle, message_count)"
                " VALUES (?, ?, ?, ?, 'active', ?)",
                (sid, data, row_token(data), row.revision, len(row.messages)),
            )
    runtime.close()
    projection.close()


def bench_recovery(sessions: int, lagging: int, missing: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seed_recovery(root, sessions, lagging, missing)
        svc = sqlite_service(root)
        start = time.perf_counter()
        report = svc.recover()
        first = time.perf_counter() - start
        start = time.perf_counter()
        again = svc.recover()
        second = time.perf_counter() - start
        views = svc.reader.list_sessions()
        svc.close()
    if not (report.ok and again.ok and all(v.in_sync for v in views)):
        raise SystemExit("recovery benchmark did not converge")
    return {
        "sessions": sessions,
        "repaired": lagging + missing,
        "recover_s": first,
        "recover_again_s": second,
    }


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "load": load,
    }


def print_throughput(t: dict[str, object]) -> None:
    raw, threads = t["raw_commits"], t["threads"]
    assert isinstance(raw, dict) and isinstance(threads, dict)
    print(f"throughput on {t['dir']}:")
    print(f"{'raw WAL+FULL commits':>22}: {raw['commits_per_s']:.0f} commits/s")
    print(
        f"{'turns, threads':>22}: {threads['turns']} turns in {threads['seconds']:.2f}s ="
        f" {threads['turns_per_s']:.0f} turns/s, ratio {t['ratio_threads']:.2f}"
    )
    print(
        f"{'CPU per turn':>22}: {threads['cpu_ms_per_turn']:.2f} ms (process CPU time, all"
        f" threads); runtime-file transactions per turn"
        f" {threads['runtime_transactions_per_turn']:.2f},"
        f" writes per batch {threads['runtime_writes_per_batch']:.2f}"
    )
    spread = t["processes"]
    assert isinstance(spread, list)
    for procs in spread:
        print(
            f"{'turns, ' + str(procs['processes']) + ' processes':>22}: {procs['turns']} turns in"
            f" {procs['seconds']:.2f}s = {procs['turns_per_s']:.0f} turns/s,"
            f" ratio {procs['ratio']:.2f}"
        )
    fsyncs = t["fsyncs"]
    if isinstance(fsyncs, dict):
        print(
            f"{'fsyncs per turn':>22}: {fsyncs['fsyncs_per_turn']:.2f}"
            f" (strace -c: {fsyncs['calls_double']} fsync+fdatasync for 2 x {fsyncs['turns']}"
            f" turns - {fsyncs['calls_single']} for {fsyncs['turns']})"
        )
    else:
        print(f"{'fsyncs per turn':>22}: {fsyncs}")


def print_slow_disk(slow: dict[str, object] | str) -> None:
    if isinstance(slow, str):
        print(f"{'slow-fsync disk':>22}: {slow}")
        return
    raw, threads = slow["raw_commits"], slow["threads"]
    assert isinstance(raw, dict) and isinstance(threads, dict)
    print(
        f"{'slow-fsync disk':>22}: each fsync {slow['delay_ms']} ms slower (strace):"
        f" raw {raw['commits_per_s']:.0f} commits/s, threads {threads['turns_per_s']:.0f}"
        f" turns/s, ratio {slow['ratio_threads']:.2f}, runtime writes per batch"
        f" {threads['runtime_writes_per_batch']:.2f}"
    )


def _counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"process counts must be >= 1: {text!r}")
    return [count for count in counts if count > 1]


def child_threads(root: Path, sessions: int, turns: int) -> None:
    """``--child-threads DIR``: the threaded workload alone (what strace counts)."""
    threaded_turns(root, sessions, turns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--sessions", type=int, default=20, help="sessions for the turn benchmark")
    parser.add_argument("--turns", type=int, default=10, help="turns per session")
    parser.add_argument("--recovery-sessions", type=int, default=10_000)
    parser.add_argument(
        "--processes",
        type=_counts,
        default=[2, 4],
        help="process counts to spread the sessions over, comma-separated (default 2,4; 1:"
        " threads only)",
    )
    parser.add_argument("--raw-commits", type=int, default=1_000, help="raw commits to time")
    parser.add_argument(
        "--long-turns",
        type=int,
        default=300,
        help="turns of the one long session whose CPU per turn is reported by length (in blocks"
        " of 50)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the files go (one disk)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--slow-fsync-ms",
        type=float,
        default=2.0,
        help="also time raw commits and turns with every fsync this much slower, under strace"
        " (default 2; 0: skip)",
    )
    parser.add_argument("--child-threads", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-slow-disk", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_threads is not None:
        child_threads(args.child_threads, args.sessions, args.turns)
        return
    if args.child_slow_disk is not None:
        child_slow_disk(args.child_slow_disk, args.sessions, args.turns, args.raw_commits)
        return
    if args.quick:
        args.sessions, args.turns, args.recovery_sessions = 5, 4, 500
        args.raw_commits, args.processes, args.long_turns = 200, [2], 100
    base = Path(args.dir or tempfile.gettempdir())
    results: dict[str, object] = {"machine": machine()}
    results["throughput"] = bench_throughput(
        base, args.sessions, args.turns, args.processes, args.raw_commits
    )
    if args.slow_fsync_ms > 0:
        results["slow_disk"] = slow_disk(
            base, args.sessions, args.turns, args.raw_commits, args.slow_fsync_ms
        )
    results["statements_per_turn"] = statements_per_turn()
    results["statement_threads"] = statement_threads()
    results["memory"] = bench_turns(memory_service(), args.sessions, args.turns)
    with tempfile.TemporaryDirectory() as tmp:
        svc = sqlite_service(tmp)
        results["sqlite_fsync"] = bench_turns(svc, args.sessions, args.turns)
        svc.close()
    results["length_scaling"] = length_scaling(args.long_turns, 50)
    n = args.recovery_sessions
    results["recovery_in_sync"] = bench_recovery(n, 0, 0)
    results["recovery_10pct_behind"] = bench_recovery(n, n // 20, n // 20)
    results["load_at_end"] = machine()["load"]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine: {results['machine']}; load average at the end: {results['load_at_end']}")
    throughput = results["throughput"]
    assert isinstance(throughput, dict)
    print_throughput(throughput)
    slow = results.get("slow_disk")
    if slow is not None:
        assert isinstance(slow, (dict, str))
        print_slow_disk(slow)
    for key in ("memory", "sqlite_fsync"):
        r = results[key]
        assert isinstance(r, dict)
        print(
            f"{key:>22}: {r['turns']} turns in {r['seconds']:.2f}s = {r['turns_per_s']:.0f}"
            f" turns/s, one thread, CPU per turn {r['cpu_ms_per_turn']:.2f} ms"
        )
    scaling = results["length_scaling"]
    assert isinstance(scaling, dict)
    for key, costs in scaling.items():
        shown = ", ".join(f"{cost:.2f}" for cost in costs)
        print(f"{'by length, ' + key:>22}: CPU ms per turn for turns 1-50, 51-100, ...: {shown}")
    per_turn = results["statements_per_turn"]
    gil = results["statement_threads"]
    assert isinstance(per_turn, dict) and isinstance(gil, dict)
    print(
        f"{'statements per turn':>22}: runtime {per_turn['runtime']:.1f},"
        f" projection {per_turn['projection']:.1f} (one session, set_trace_callback)"
    )
    print(
        f"{'CPU per statement':>22}: {gil['us_per_statement_1']:.1f} us with one thread,"
        f" {gil['us_per_statement_20']:.1f} us with 20 (ratio {gil['ratio']:.1f}: the GIL"
        " handed over at every step)"
    )
    for key in ("recovery_in_sync", "recovery_10pct_behind"):
        r = results[key]
        assert isinstance(r, dict)
        print(
            f"{key:>22}: {r['sessions']} sessions ({r['repaired']} repaired) "
            f"recover {r['recover_s']:.2f}s, again {r['recover_again_s']:.2f}s"
        )


if __name__ == "__main__":
    main()
