"""Typed errors everywhere (issue 13 item 8): one line on stderr, no traceback without
``--debug``; "(see session-core --help)" only on usage errors. Real child processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from session_core import __version__
from session_core.errors import SessionNotFound, StorageError, StoreFileInvalid
from session_core.factory import sqlite_service
from session_core.faults import FaultInjector
from session_core.stores.sqlite_db import SqliteDatabase

CLI = [sys.executable, "-m", "session_core"]


def run_cli(*args: str, stdout: object = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def demo_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    result = run_cli("demo", "--data", str(data), "--turns", "2")
    assert result.returncode == 0, result.stderr
    return data


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"session-core {__version__}"


def test_usage_errors_point_at_help_storage_errors_do_not(tmp_path: Path) -> None:
    usage = one_line_error(run_cli("status", "--data", str(tmp_path), "--format", "xml"))
    assert usage.endswith("(see session-core --help)")
    (tmp_path / "runtime.sqlite").write_bytes(b"garbage" * 500)
    (tmp_path / "sessions.sqlite3").write_bytes(b"garbage" * 500)
    storage = one_line_error(run_cli("recover", "--data", str(tmp_path)))
    assert "CorruptDatabase" in storage and str(tmp_path / "runtime.sqlite") in storage
    assert "--help" not in storage


def test_directory_in_place_of_a_file(tmp_path: Path) -> None:
    data = demo_dir(tmp_path)
    for suffix in ("", "-wal", "-shm"):
        (data / f"sessions.sqlite3{suffix}").unlink(missing_ok=True)
    (data / "sessions.sqlite3").mkdir()
    for command in ("status", "recover", "demo"):
        line = one_line_error(run_cli(command, "--data", str(data)))
        assert "StoreFileInvalid" in line and "is a directory" in line, line
        assert str(data / "sessions.sqlite3") in line


def test_permission_error_is_typed(tmp_path: Path) -> None:
    """A data directory that cannot be created (EPERM under /sys, even for root)."""
    line = one_line_error(run_cli("demo", "--data", "/sys/session-core-test", "--turns", "1"))
    assert "StoreFileInvalid" in line and "/sys/session-core-test" in line


def test_undecodable_text_in_a_store_file_is_typed(tmp_path: Path) -> None:
    data = demo_dir(tmp_path)
    conn = sqlite3.connect(data / "runtime.sqlite")
    conn.execute("UPDATE rt_sessions SET state = CAST(x'fffe' AS TEXT)")
    conn.commit()
    conn.close()
    line = one_line_error(run_cli("status", "--data", str(data)))
    assert "runtime.sqlite" in line, line
    result = run_cli("recover", "--data", str(data))  # reported per session, exit 1
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "runtime.sqlite" in result.stdout and "demo-0" in result.stdout


def test_failed_stdout_write_is_one_line_exit_1(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        result = run_cli("demo", "--data", str(tmp_path / "d"), "--turns", "1", stdout=full)
    line = one_line_error(result, 1)
    assert "cannot write output" in line


def test_failed_create_stops_the_demo_with_its_cause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed create is reported with its cause (naming the file), not ignored until every
    turn fails with "no such session"."""
    from session_core import cli

    faults = FaultInjector()
    svc = sqlite_service(tmp_path, faults)
    faults.arm("runtime.create.before", "error", times=1 << 30)
    with pytest.raises(StorageError) as info:
        cli._ensure(svc, "s1")
    assert "runtime.create" in str(info.value) and "runtime.sqlite" in str(info.value)
    with pytest.raises(SessionNotFound) as missing:
        svc.run_turn("s1", "hello")
    assert str(tmp_path / "runtime.sqlite") in str(missing.value)  # names the file
    svc.close()


def test_journal_mode_result_is_checked() -> None:
    """SQLite can silently keep another journal mode (here: an in-memory database answers
    'memory'); the store refuses to run without WAL instead of carrying on."""
    with pytest.raises(StorageError) as info:
        SqliteDatabase(":memory:", "runtime")
    assert "journal_mode=WAL not applied" in str(info.value)


def test_read_only_status_refuses_to_migrate_an_old_file(tmp_path: Path) -> None:
    """status never migrates: files created before identities get MigrationRequired and
    stay byte-identical; recover migrates them (explicitly a writing command)."""
    from session_core.service import SessionService
    from session_core.stores.sqlite import SqliteAuditLog, SqliteRuntimeStore, SqliteSessionStore

    sessions = tmp_path / "sessions.sqlite3"
    old = SessionService(
        SqliteSessionStore(sessions, migrate_to=2),
        SqliteAuditLog(sessions, migrate_to=2),
        SqliteRuntimeStore(tmp_path / "runtime.sqlite", migrate_to=2),
    )
    old.create("s1")
    old.run_turn("s1", "hello")
    old.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    line = one_line_error(run_cli("status", "--data", str(tmp_path)))
    assert "MigrationRequired" in line and "session-core recover" in line
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert run_cli("recover", "--data", str(tmp_path)).returncode == 0
    result = run_cli("status", "--data", str(tmp_path))
    assert result.returncode == 0 and '"turns": 1' in result.stdout


def test_directory_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(StoreFileInvalid):
        sqlite_service(target)


def test_mistyped_commands_and_options_get_suggestions(tmp_path: Path) -> None:
    command = one_line_error(run_cli("stauts", "--data", str(tmp_path)))
    assert "(did you mean status?)" in command, command
    option = one_line_error(run_cli("status", "--data", str(tmp_path), "--formt", "json"))
    assert "(did you mean --format?)" in option, option
    unrelated = one_line_error(run_cli("zzzz"))
    assert "did you mean" not in unrelated


def test_demo_help_states_the_defaults_it_uses(tmp_path: Path) -> None:
    helped = run_cli("demo", "--help")
    assert helped.returncode == 0
    assert "number of sessions (N, default: 1)" in helped.stdout
    assert "turns per session (M, default: 1)" in helped.stdout
    plain = run_cli("demo", "--data", str(tmp_path / "data"))
    assert plain.returncode == 0, plain.stderr
    acknowledged = [line for line in plain.stdout.splitlines() if line]
    assert len(acknowledged) == 1 and '"session": "demo-0"' in acknowledged[0], plain.stdout
