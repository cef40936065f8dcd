"""The SQLite backend reads and damages store files without dropping the process's fcntl locks
(issue 13 F1): two real processes, ``/proc/locks``, and a peer whose close would delete the
live WAL if the locks were gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends import locked_inodes
from session_core.factory import sqlite_stores

LINUX = sys.platform.startswith("linux")
ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
from pathlib import Path
import harness.backends, harness.commits
from harness.backends import SqliteBackend
from harness.faults import HarnessFaults
from session_core.service import SessionService

if sys.argv[2] == "plain":  # the harness before the fix: plain reads of live files
    plain = lambda path, main=None: path.read_bytes() if path.exists() else None
    harness.backends.read_bytes = plain
    harness.commits.read_bytes = plain
backend = SqliteBackend(base=sys.argv[1])
faults = HarnessFaults()
stores = backend.open(faults)
svc = SessionService(stores.sessions, stores.audit, stores.runtime, faults=faults)
svc.create("s1")
svc.run_turn("s1", "hello", input_id="i1")  # an unsynced accept: the recorder reads the files
backend.snapshot()
backend.file_digest("runtime")
backend.file_digest("sessions")
backend.corrupt_row("s1")
backend.repair()
stores.runtime.session_ids(); stores.sessions.list()
print(backend.dir, flush=True)
sys.stdin.readline()
svc.run_turn("s1", "again", input_id="i2")
check = stores.sessions.db.read(lambda c: c.execute("PRAGMA quick_check").fetchone()[0], None)
print(check, len(stores.runtime.inputs("s1")), flush=True)
"""


def _child(base: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(base), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _run(base: Path, mode: str) -> tuple[set[str], bool, str]:
    """(store files the child holds no lock on, whether its WAL survived a peer's close, the
    child's last output)."""
    proc = _child(base, mode)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line, proc.stderr.read() if proc.stderr else ""
        data = Path(line)
        held = locked_inodes(proc.pid) or set()
        unlocked = {
            name
            for name in ("runtime.sqlite", "sessions.sqlite3")
            if (data / name).stat().st_ino not in held
        }
        sqlite_stores(data, mode="open").close()  # a peer process opens and closes the stores
        wal_kept = (data / "sessions.sqlite3-wal").exists()
        out, err = proc.communicate("\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return unlocked, wal_kept, out.strip()


@pytest.mark.skipif(not LINUX, reason="/proc/locks")
def test_backend_reads_keep_the_locks_of_a_live_process(tmp_path: Path) -> None:
    unlocked, wal_kept, out = _run(tmp_path, "fixed")
    assert unlocked == set()
    assert wal_kept
    assert out == "ok 2"


@pytest.mark.skipif(not LINUX, reason="/proc/locks")
def test_plain_reads_of_live_files_drop_the_locks(tmp_path: Path) -> None:
    """The check above can fail: the harness's old plain reads lose the locks, and a peer's
    close then deletes the live WAL."""
    unlocked, wal_kept, _ = _run(tmp_path, "plain")
    assert unlocked
    assert not wal_kept
