"""session_core benchmarks: committed runtime-backed turns per second, and recovery time.

    python benchmarks/session_core_bench.py                 # full run (10k-session recovery)
    python benchmarks/session_core_bench.py --quick         # smaller numbers, seconds

Turns are real runtime-backed turns through ``SessionService.run_turn`` (accept, run lease,
scripted agent with one tool batch and one in-run checkpoint, atomic commit, post-commit
projection). SQLite uses the default durable settings: WAL + ``synchronous=FULL`` (fsync),
runtime and projection in separate files. The recovery setup writes its 10k sessions with bulk
inserts (not timed); ``lagging`` of them get a projection one turn behind and ``missing`` none.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

from session_core.codec import derive_receipt, encode_session
from session_core.factory import memory_service, sqlite_service
from session_core.model import Message, Session, row_token
from session_core.service import SessionService


def bench_turns(svc: SessionService, sessions: int, turns: int) -> dict[str, float]:
    ids = [f"bench-{i}" for i in range(sessions)]
    for sid in ids:
        svc.create(sid)
    start = time.perf_counter()
    done = 0
    for turn in range(turns):
        for sid in ids:
            outcome = svc.run_turn(sid, f"turn {turn}")
            if type(outcome).__name__ != "Completed":
                raise SystemExit(f"benchmark turn not completed: {outcome}")
            done += 1
    elapsed = time.perf_counter() - start
    return {"turns": done, "seconds": elapsed, "turns_per_s": done / elapsed}


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
    import os

    return {"python": platform.python_version(), "cpu": cpu, "cores": str(os.cpu_count())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--sessions", type=int, default=20, help="sessions for the turn benchmark")
    parser.add_argument("--turns", type=int, default=10, help="turns per session")
    parser.add_argument("--recovery-sessions", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.turns, args.recovery_sessions = 5, 4, 500
    results: dict[str, object] = {"machine": machine()}
    results["memory"] = bench_turns(memory_service(), args.sessions, args.turns)
    with tempfile.TemporaryDirectory() as tmp:
        svc = sqlite_service(tmp)
        results["sqlite_fsync"] = bench_turns(svc, args.sessions, args.turns)
        svc.close()
    n = args.recovery_sessions
    results["recovery_in_sync"] = bench_recovery(n, 0, 0)
    results["recovery_10pct_behind"] = bench_recovery(n, n // 20, n // 20)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"machine: {results['machine']}")
    for key in ("memory", "sqlite_fsync"):
        r = results[key]
        assert isinstance(r, dict)
        print(
            f"{key:>22}: {r['turns']} turns in {r['seconds']:.2f}s = {r['turns_per_s']:.0f} turns/s"
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
