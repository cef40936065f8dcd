"""Integrity across processes, storage faults and foreign files (issue F1-F6).

Real child processes, real SQLite files, ``/proc/locks``, ``strace`` fault injection on
``fdatasync`` and ``SIGKILL``. Each test fails on the code before the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from session_core.codec import decode_session
from session_core.errors import (
    ChecksumMismatch,
    ForeignWal,
    MissingStoreFile,
    ReceiptConflict,
    SessionExists,
    StoreIdentityMismatch,
    StoreNotInitialized,
)
from session_core.factory import sqlite_service, sqlite_stores
from session_core.outcomes import Completed, Failed, Indeterminate, committed

CLI = [sys.executable, "-m", "session_core"]
LINUX = sys.platform.startswith("linux")


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def child(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def seeded(data: Path, turns: int = 3, sessions: int = 1) -> None:
    svc = sqlite_service(data)
    for n in range(sessions):
        sid = f"s{n}"
        svc.create(sid)
        for t in range(turns):
            assert committed(svc.run_turn(sid, f"turn {t}", input_id=f"{sid}.{t}"))
    svc.close()


def digests(data: Path) -> dict[str, str]:
    import hashlib

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.iterdir())
        if p.is_file() and p.name != ".session_core.lock"
    }


# --- F1: locks are never dropped --------------------------------------------------------------


def _locked_inodes(pid: int) -> set[int]:
    inodes = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  READ 1234 08:01:5678 1073741824 1073741825"
        if len(fields) > 5 and fields[1] == "POSIX" and fields[4] == str(pid):
            inodes.add(int(fields[5].split(":")[-1]))
    return inodes


@pytest.mark.skipif(not LINUX, reason="/proc/locks")
def test_open_stores_keep_their_fcntl_locks(tmp_path: Path) -> None:
    """F1: a process with open stores holds SQLite's shared lock on both files; opening the
    audit log (second store on sessions.sqlite3) used to read the file with a plain
    descriptor and its close dropped every lock of the process on it."""
    data = tmp_path / "data"
    seeded(data, turns=1)
    proc = child(
        "import sys\n"
        "from session_core.factory import sqlite_stores\n"
        f"stores = sqlite_stores({str(data)!r})\n"
        "stores.runtime.session_ids(); stores.sessions.list(); stores.audit.events('s0')\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "stores.close()\n"
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        held = _locked_inodes(proc.pid)
        for name in ("runtime.sqlite", "sessions.sqlite3"):
            assert (data / name).stat().st_ino in held, (name, held)
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0, proc.stderr


def _inode(path: Path) -> set[int]:
    try:
        return {path.stat().st_ino}
    except FileNotFoundError:
        return set()


def test_writers_and_polling_status_never_corrupt_the_files(tmp_path: Path) -> None:
    """F1: several writer processes and a `status` poller on one directory: no malformed
    database, every acknowledged turn present once, both files pass integrity_check."""
    data = tmp_path / "data"
    assert run_cli("init", "--data", str(data)).returncode == 0
    args = ["demo", "--data", str(data), "--sessions", "2", "--turns", "25"]
    writers = [
        subprocess.Popen(
            [*CLI, *args, "--prefix", prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b", "a")
    ]
    polls: list[subprocess.CompletedProcess[str]] = []
    wal_inodes: set[int] = set()
    while any(w.poll() is None for w in writers):
        alive = all(w.poll() is None for w in writers)
        polls.append(run_cli("status", "--data", str(data)))
        if alive and all(w.poll() is None for w in writers):
            # while every writer is connected, nobody may delete (and so recreate) the WAL
            wal_inodes |= _inode(data / "sessions.sqlite3-wal")
    printed: list[dict[str, Any]] = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        printed += [json.loads(line) for line in out.splitlines()]
    assert polls
    assert len(wal_inodes) <= 1, "the live WAL was deleted under running writers"
    for result in polls:
        assert "malformed" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
    for name in ("runtime.sqlite", "sessions.sqlite3"):
        conn = sqlite3.connect(data / name)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    svc = sqlite_service(data, mode="open")
    for line in printed:
        ids = svc.read(line["session"]).user_input_ids()
        assert ids.count(line["input"]) == 1, line
        assert ids.index(line["input"]) + 1 == line["turn"], line  # the ack's turn field
    svc.close()


# --- F2: honest outcomes after a failed sync --------------------------------------------------

TURNS_SCRIPT = """
import json, sys
from session_core.factory import sqlite_service
from session_core.outcomes import outcome_name
svc = sqlite_service(sys.argv[1], mode="open")
for n in range(int(sys.argv[2])):
    iid = f"in-{n}"
    try:
        name = outcome_name(svc.run_turn("s1", f"text {n}", input_id=iid))
    except Exception as exc:
        name = "raised:" + type(exc).__name__
    print(json.dumps({"input": iid, "outcome": name}), flush=True)
"""


def _syncs(data: Path, script: Path, turns: int) -> int:
    out = subprocess.run(
        [
            "strace",
            "-f",
            "-c",
            "-e",
            "trace=fdatasync,fsync",
            sys.executable,
            str(script),
            str(data),
            str(turns),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    totals = [line.split() for line in out.stderr.splitlines() if line.endswith(" total")]
    return int(totals[-1][3]) if totals else 0


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_failed_sync_is_indeterminate_and_resolves_exactly_once(tmp_path: Path) -> None:
    """F2: fdatasync fails (EIO, from the K-th call on) in a real process. An outcome is
    `Failed` only when the turn never commits; `Indeterminate` turns commit at most once
    after recovery plus a resend with the same input id, and the resend returns the
    committed outcome (or the definite failure it resolved to) instead of running it again."""
    script = tmp_path / "turns.py"
    script.write_text(TURNS_SCRIPT)
    probe = tmp_path / "probe"
    seeded(probe, turns=0, sessions=0)
    sqlite_service(probe).create("s1")
    base = _syncs(probe, script, 0)
    per_turn = max(1, (_syncs(probe, script, 2) - base) // 2)
    found_indeterminate = False
    for k in range(base + 1, base + 3 * per_turn + 1):
        data = tmp_path / f"k{k}"
        seeded(data, turns=0, sessions=0)
        svc = sqlite_service(data)
        svc.create("s1")
        svc.close()
        run = subprocess.run(
            [
                "strace",
                "-f",
                "-qq",
                "-o",
                os.devnull,
                "-e",
                "trace=fdatasync,fsync",
                "-e",
                f"inject=fdatasync,fsync:error=EIO:when={k}+",
                sys.executable,
                str(script),
                str(data),
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        first = {d["input"]: d["outcome"] for d in map(json.loads, run.stdout.splitlines())}
        assert first, run.stderr
        svc = sqlite_service(data, mode="open")
        assert svc.recover().errors == []
        final = {}
        for n in range(3):
            iid = f"in-{n}"
            if first.get(iid) in ("Completed", "CompletedWithFinalizationFailure"):
                continue
            final[iid] = svc.run_turn("s1", f"text {n}", input_id=iid)
        ids = svc.read("s1").user_input_ids()
        svc.close()
        for iid, name in first.items():
            assert ids.count(iid) <= 1, (k, iid, ids)
            if name == "Failed":
                assert iid not in ids, f"k={k}: {iid} was Failed but committed later"
            if name.startswith("Completed"):
                assert iid in ids, (k, iid)
            if name == "Indeterminate":
                found_indeterminate = True
                again = final[iid]  # resolved once: committed, or rejected for good
                assert committed(again) == (iid in ids), (k, iid, again)
    assert found_indeterminate


CREATE_SCRIPT = """
import json, sys
from session_core.factory import sqlite_service
from session_core.faults import FaultInjector
from session_core.outcomes import outcome_name
faults = FaultInjector()
if len(sys.argv) > 2:
    faults.arm(sys.argv[2], "error", session_id="c1")
svc = sqlite_service(sys.argv[1], faults, mode="open")
for sid in ("c0", "c1", "c2"):
    try:
        name = outcome_name(svc.create(sid))
    except Exception as exc:
        name = "raised:" + type(exc).__name__
    print(json.dumps({"session": sid, "outcome": name}), flush=True)
"""


def _creates(data: Path, *prefix: str, site: str | None = None) -> dict[str, str]:
    script = data.parent / "creates.py"
    script.write_text(CREATE_SCRIPT)
    args = [sys.executable, str(script), str(data), *([site] if site else [])]
    run = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60, check=False)
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines, run.stderr
    return {d["session"]: d["outcome"] for d in lines}


def _check_creates(data: Path, first: dict[str, str]) -> None:
    """After recovery: a `Failed` create left nothing; every other create either exists once,
    in sync, or (Indeterminate) was resolved by recovery one way for good."""
    svc = sqlite_service(data, mode="open")
    assert svc.recover().errors == []
    known = svc.runtime.session_ids() if svc.runtime is not None else []
    views = {v.session_id: v for v in svc.reader.list_sessions()}
    for sid, name in first.items():
        if name == "Failed":
            assert sid not in known and sid not in views, (sid, first)
        if name.startswith("Completed") or sid in known:
            assert sid in known and views[sid].in_sync, (sid, first)
    svc.close()


def test_create_durable_before_its_error_is_indeterminate(tmp_path: Path) -> None:
    """F2 for `create`: the snapshot is durable in runtime.sqlite but the error is reported
    after it (`runtime.create.after`, in a real child process): the outcome is
    `Indeterminate`, never the definite `Failed`, and recovery projects the session."""
    data = tmp_path / "data"
    seeded(data, turns=0, sessions=0)
    first = _creates(data, site="runtime.create.after")
    assert first == {"c0": "Completed", "c1": "Indeterminate", "c2": "Completed"}
    _check_creates(data, first)
    svc = sqlite_service(data, mode="open")
    assert committed(svc.run_turn("c1", "hello"))
    with pytest.raises(SessionExists):
        svc.create("c1")  # resolved once: it exists
    svc.close()


def test_create_refused_before_writing_is_failed(tmp_path: Path) -> None:
    """The other side: an error before anything is written is the definite `Failed`, and
    nothing of the session exists after recovery."""
    data = tmp_path / "data"
    seeded(data, turns=0, sessions=0)
    first = _creates(data, site="runtime.create.before")
    assert first["c1"] == "Failed", first
    _check_creates(data, first)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_create_with_failed_sync_never_fails_then_exists(tmp_path: Path, k: int) -> None:
    """fdatasync/fsync fail with EIO from the k-th call on, in a real child creating three
    sessions: no create answered `Failed` exists afterwards, and recovery leaves every
    created session in sync."""
    data = tmp_path / "data"
    seeded(data, turns=0, sessions=0)
    inject = f"inject=fdatasync,fsync:error=EIO:when={k}+"
    strace = ["strace", "-f", "-qq", "-o", os.devnull, "-e", "trace=fdatasync,fsync"]
    first = _creates(data, *strace, "-e", inject)
    _check_creates(data, first)


def test_resend_of_a_committed_input_returns_its_outcome(tmp_path: Path) -> None:
    """A client retry with the same input id after an ambiguous commit (here: the process
    was killed right after the commit) returns the committed outcome; the turn runs once."""
    data = tmp_path / "data"
    seeded(data, turns=0, sessions=0)
    svc = sqlite_service(data)
    svc.create("s1")
    svc.close()
    proc = child(
        "import os, signal, sys\n"
        "from session_core.factory import sqlite_service\n"
        "from session_core.faults import FaultInjector\n"
        "faults = FaultInjector()\n"
        f"svc = sqlite_service({str(data)!r}, faults)\n"
        "faults.arm('turn.after_commit', 'crash')\n"
        "try:\n"
        "    svc.run_turn('s1', 'hello', input_id='retry-me')\n"
        "finally:\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    svc = sqlite_service(data, mode="open")
    outcome = svc.run_turn("s1", "hello", input_id="retry-me")
    assert isinstance(outcome, Completed), outcome
    assert outcome.receipt is not None and "retry-me" in outcome.receipt.input_ids
    assert outcome.text.endswith("hello")
    assert svc.read("s1").user_input_ids() == ["retry-me"]
    again = svc.run_turn("s1", "hello", input_id="retry-me")
    assert isinstance(again, Completed) and again.receipt == outcome.receipt
    assert svc.read("s1").user_input_ids() == ["retry-me"]
    svc.close()


# --- F3: a data directory has an identity -----------------------------------------------------


def _foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.commit()
    conn.close()


def _damage(data: Path, how: str, other: Path) -> None:
    runtime = data / "runtime.sqlite"
    if how == "missing":
        runtime.unlink()
    elif how == "empty":
        runtime.write_bytes(b"")
    elif how == "foreign":
        runtime.unlink()
        _foreign(runtime)
    elif how == "other-directory":
        shutil.copy(other / "runtime.sqlite", runtime)
    else:  # swapped
        sessions = data / "sessions.sqlite3"
        tmp = data / "tmp"
        runtime.rename(tmp)
        sessions.rename(runtime)
        tmp.rename(sessions)


@pytest.mark.parametrize("how", ["missing", "empty", "foreign", "other-directory", "swapped"])
def test_bad_runtime_file_is_refused_and_nothing_changes(tmp_path: Path, how: str) -> None:
    """F3: status / recover / demo refuse a missing, empty, foreign, other directory's or
    swapped runtime.sqlite with a typed error naming both files; no file changes."""
    data, other = tmp_path / "data", tmp_path / "other"
    seeded(data, turns=4)
    seeded(other, turns=1)
    _damage(data, how, other)
    before = digests(data)
    for args in (["status"], ["recover"], ["demo", "--prefix", "s", "--turns", "1"]):
        result = run_cli(*args, "--data", str(data))
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        if how in ("missing", "empty", "other-directory", "swapped"):
            assert "runtime.sqlite" in result.stderr and "sessions.sqlite3" in result.stderr
        assert "see session-core --help" not in result.stderr
        assert digests(data) == before, args
    expected = {
        "missing": MissingStoreFile,
        "empty": MissingStoreFile,
        "other-directory": StoreIdentityMismatch,
        "swapped": StoreIdentityMismatch,
    }
    if how in expected:
        with pytest.raises(expected[how]):
            sqlite_stores(data)


def test_creation_is_explicit(tmp_path: Path) -> None:
    """F3: status and recover never create store files; init and a first create do."""
    data = tmp_path / "data"
    data.mkdir()
    for command in ("status", "recover"):
        result = run_cli(command, "--data", str(data))
        assert result.returncode == 2 and "session-core init" in result.stderr, result.stderr
        assert "StoreNotInitialized" in result.stderr
        assert sorted(p.name for p in data.iterdir()) == []
    with pytest.raises(StoreNotInitialized):
        sqlite_stores(data, mode="open")
    assert run_cli("init", "--data", str(data)).returncode == 0
    assert (data / "runtime.sqlite").stat().st_size > 0
    assert run_cli("status", "--data", str(data)).returncode == 0


def test_status_is_read_only(tmp_path: Path) -> None:
    """status opens both files read-only: bytes unchanged, an old schema is not migrated."""
    data = tmp_path / "data"
    seeded(data, turns=2)
    before = {n: (data / n).read_bytes() for n in ("runtime.sqlite", "sessions.sqlite3")}
    assert run_cli("status", "--data", str(data)).returncode == 0
    assert {n: (data / n).read_bytes() for n in before} == before


def test_processes_starting_together_on_a_fresh_directory(tmp_path: Path) -> None:
    """Concurrent first opens of one directory: one initialises, the others wait for it
    (no "not a session_core database", no half-initialised pair)."""
    data = tmp_path / "data"
    procs = [
        subprocess.Popen(
            [*CLI, "demo", "--data", str(data), "--prefix", f"p{n}", "--turns", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


# --- F4: a WAL that does not belong -----------------------------------------------------------

KILLED_WRITER = """
import os, signal, sys
from session_core.factory import sqlite_service
svc = sqlite_service(sys.argv[1])
for sid in sys.argv[2:]:
    svc.create(sid)
    svc.run_turn(sid, "written before the kill", input_id=sid + ".k")
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_writer(data: Path, *sessions: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(data), *sessions], timeout=60, check=False
    )
    assert run.returncode == -signal.SIGKILL
    assert (data / "runtime.sqlite-wal").stat().st_size > 0


def test_foreign_wal_is_refused_before_sqlite_replays_it(tmp_path: Path) -> None:
    """F4: another directory's runtime WAL placed next to our runtime.sqlite is refused
    (ForeignWal naming the file) and neither the database nor the WAL is changed; our own
    WAL after a SIGKILL is accepted and replayed."""
    data, other = tmp_path / "data", tmp_path / "other"
    seeded(data, turns=2)
    seeded(other, turns=0, sessions=0)
    _killed_writer(other, "intruder")
    shutil.copy(other / "runtime.sqlite-wal", data / "runtime.sqlite-wal")
    before = digests(data)
    with pytest.raises(ForeignWal) as info:
        sqlite_stores(data)
    assert str(data / "runtime.sqlite") in str(info.value)
    result = run_cli("recover", "--data", str(data))
    assert result.returncode == 2 and "ForeignWal" in result.stderr, result.stderr
    assert digests(data) == before
    (data / "runtime.sqlite-wal").unlink()
    (data / "runtime.sqlite-shm").unlink(missing_ok=True)
    svc = sqlite_service(data, mode="open")
    assert svc.runtime is not None and svc.runtime.session_ids() == ["s0"]
    svc.close()
    _killed_writer(data, "mine")  # our own WAL: replayed
    svc = sqlite_service(data, mode="open")
    assert svc.read("mine").user_input_ids() == ["mine.k"]
    svc.close()


def test_sqlite_wal_of_a_foreign_database_is_refused(tmp_path: Path) -> None:
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    seeded(data, turns=1)
    scratch.mkdir()
    code = (
        "import os, signal, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL')\n"
        "c.execute('CREATE TABLE t (x)'); c.execute('INSERT INTO t VALUES (1)'); c.commit()\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(scratch / "x.db")], timeout=60, check=False)
    shutil.copy(scratch / "x.db-wal", data / "sessions.sqlite3-wal")
    with pytest.raises(ForeignWal):
        sqlite_stores(data)


# --- F5: checksums ----------------------------------------------------------------------------


def _edit_blob(
    path: Path,
    table: str,
    column: str,
    old: bytes,
    new: bytes,
    keys: tuple[str, ...] = ("session_id",),
) -> tuple[Any, ...]:
    """Replace ``old`` by ``new`` in the first row of ``table`` whose ``column`` holds it;
    the key of that row."""
    conn = sqlite3.connect(path)
    found = conn.execute(
        f"SELECT {', '.join(keys)}, {column} FROM {table} WHERE instr({column}, ?) > 0",
        (old,),
    ).fetchone()
    assert found is not None
    where = " AND ".join(f"{k} = ?" for k in keys)
    conn.execute(
        f"UPDATE {table} SET {column} = ? WHERE {where}",
        (bytes(found[-1]).replace(old, new, 1), *found[:-1]),
    )
    conn.commit()
    conn.close()
    return tuple(found[:-1])


def test_changed_byte_in_a_snapshot_is_quarantined_never_projected(tmp_path: Path) -> None:
    """F5: one changed byte in the stored snapshot (still valid JSON) is refused by reads
    and by recovery with ChecksumMismatch naming file, session and revision; the intact
    projection row is never overwritten from it."""
    data = tmp_path / "data"
    seeded(data, turns=3)
    keys = ("session_id", "idx")  # the transcript is stored as one row per message
    _, idx = _edit_blob(
        data / "runtime.sqlite", "rt_messages", "message", b"turn 1", b"turn X", keys
    )
    row_before = _row(data)
    result = run_cli("recover", "--data", str(data), "--format", "json")
    assert result.returncode == 1, result.stderr
    error = json.loads(result.stdout)["errors"]["s0"]
    assert "ChecksumMismatch" in error or "checksum" in error
    assert "runtime.sqlite" in error and "revision=" in error
    assert f"message rows failing their digest: [{idx}]" in error
    assert _row(data) == row_before
    svc = sqlite_service(data, mode="open")
    with pytest.raises(ChecksumMismatch) as info:
        svc.read("s0")
    assert info.value.session_id == "s0" and info.value.revision is not None
    outcome = svc.run_turn("s0", "more")
    assert isinstance(outcome, Failed) and isinstance(outcome.cause, ChecksumMismatch)
    svc.close()
    assert _row(data) == row_before


def _row(data: Path) -> bytes:
    conn = sqlite3.connect(data / "sessions.sqlite3")
    row = bytes(conn.execute("SELECT row FROM ss_rows").fetchone()[0])
    conn.close()
    return row


def test_corrupt_projection_row_is_rebuilt_from_the_authority(tmp_path: Path) -> None:
    """F5: a readable but corrupt projection row (changed byte, stale checksum) is not
    served, and recovery rebuilds it from the verified authority."""
    data = tmp_path / "data"
    seeded(data, turns=3)
    _edit_blob(data / "sessions.sqlite3", "ss_rows", "row", b"turn 1", b"turn X")
    svc = sqlite_service(data, mode="open")
    with pytest.raises(ChecksumMismatch) as info:
        svc.reader.read_transcript("s0")
    assert "sessions.sqlite3" in str(info.value) and "s0" in str(info.value)
    report = svc.recover()
    assert report.ok, report
    view = svc.reader.view("s0")
    assert view.in_sync and view.lag == 0
    assert b"turn X" not in _row(data)
    assert svc.reader.read_transcript("s0") == svc.read("s0")
    svc.close()


# --- F6: leases recover themselves ------------------------------------------------------------


def test_killed_lease_holder_is_taken_over(tmp_path: Path) -> None:
    """F6: a real process holding the run lease is SIGKILLed; the survivor's next turn takes
    the lease over (no recover in between) and succeeds."""
    data = tmp_path / "data"
    seeded(data, turns=1)
    proc = child(
        "import sys, time\n"
        "from session_core.factory import sqlite_stores\n"
        f"stores = sqlite_stores({str(data)!r})\n"
        "print(stores.runtime.begin_run('s0', []), flush=True)\n"
        "time.sleep(600)\n"
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "run-2"
    svc = sqlite_service(data, mode="open")
    busy = svc.run_turn("s0", "while the holder lives")
    assert isinstance(busy, Failed) and type(busy.cause).__name__ == "SessionBusy"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    outcome = svc.run_turn("s0", "after the kill", input_id="survivor")
    assert isinstance(outcome, Completed), outcome
    assert "survivor" in svc.read("s0").user_input_ids()
    svc.close()


def test_expired_lease_is_taken_over_and_the_old_holder_is_fenced(tmp_path: Path) -> None:
    """F6: a live holder whose lease expired is taken over; its late commit names the old
    generation (run-N) and is refused."""
    from session_core.codec import derive_receipt, encode_session
    from session_core.model import InputState

    data = tmp_path / "data"
    seeded(data, turns=1)
    slow, fast = sqlite_stores(data), sqlite_stores(data)
    old_run = slow.runtime.begin_run("s0", [])
    fast.runtime.clock = lambda: time.time() + 3600  # type: ignore[attr-defined]
    new_run = fast.runtime.begin_run("s0", [])
    assert new_run != old_run
    snapshot = fast.runtime.load_snapshot("s0")
    assert snapshot is not None
    doc = decode_session(snapshot)
    late = encode_session(doc)
    receipt = derive_receipt(
        late, session_id="s0", run_id=old_run, sequence=1, kind="terminal", input_ids=[]
    )
    with pytest.raises(ReceiptConflict):
        slow.runtime.atomic_apply("s0", late, receipt, {})
    ok = derive_receipt(
        late, session_id="s0", run_id=new_run, sequence=1, kind="terminal", input_ids=[]
    )
    fast.runtime.atomic_apply("s0", late, ok, dict[str, InputState]())
    assert fast.runtime.active_run("s0") is None
    slow.close()
    fast.close()


def test_failed_lease_release_does_not_block_the_session(tmp_path: Path) -> None:
    """F6: the release of a finished run fails (a brief storage error): the next turn of the
    same process takes the lease over instead of failing with SessionBusy until recover."""
    from session_core.faults import FaultInjector

    data = tmp_path / "data"
    seeded(data, turns=1)
    faults = FaultInjector()
    svc = sqlite_service(data, faults)
    faults.arm("turn.model_call", "error")
    faults.arm("runtime.commit_lifecycle.before", "error")
    first = svc.run_turn("s0", "fails", input_id="x1")
    assert isinstance(first, Indeterminate)
    assert svc.runtime is not None and svc.runtime.active_run("s0") is not None
    second = svc.run_turn("s0", "next", input_id="x2")
    assert isinstance(second, Completed), second
    svc.close()
