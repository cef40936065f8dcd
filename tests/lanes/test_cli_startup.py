"""Start-up of the ``lanes`` process: what it imports and how it treats the garbage collector."""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lanes.cli import main

PROBE = """\
import gc, io, json, sys
from lanes.cli import main
sys.argv = ["lanes", *ARGS]
sys.stdin = io.TextIOWrapper(io.BytesIO(b"core/src/lib.rs\\n"))
sys.stdout, real = io.StringIO(), sys.stdout
code = main()
real.write(json.dumps({
    "code": code,
    "frozen": gc.get_freeze_count(),
    "enabled": gc.isenabled(),
    "imported": sorted(m for m in MODULES if m in sys.modules),
}))
"""
# Modules a warm ``detect`` has no use for, each costing milliseconds (``_hashlib`` is OpenSSL:
# ``lanes.digest`` uses CPython's own SHA-256). Listed paths need no process either.
NOT_WITH_GIT = ("dataclasses", "inspect", "pathlib", "shutil", "tempfile", "git", "_hashlib")
NOT_AT_STARTUP = (*NOT_WITH_GIT, "subprocess")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["core"]\n')
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "Cargo.toml").write_text('[package]\nname = "core"\n')
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)  # a git index, as in CI
    return tmp_path


DETECT = ("detect", "--paths-from-stdin", "--format", "json")


def probe(
    repo: Path,
    cache: Path,
    args: tuple[str, ...] = DETECT,
    modules: tuple[str, ...] = NOT_AT_STARTUP,
) -> dict[str, object]:
    code = PROBE.replace("MODULES", repr(modules)).replace("ARGS", repr(args))
    env = {"LANES_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-c", code]
    subprocess.run(run, cwd=repo, env=env, check=True, capture_output=True)  # fills the caches
    result = subprocess.run(run, cwd=repo, env=env, check=True, capture_output=True, text=True)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_a_warm_process_imports_nothing_it_does_not_need(workspace: Path, tmp_path: Path) -> None:
    result = probe(workspace, tmp_path / "cache")

    assert result["code"] == 0
    assert result["imported"] == []


def test_a_warm_base_run_imports_only_what_reading_git_needs(
    workspace: Path, tmp_path: Path
) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for message in ("one", "two"):
        (workspace / "core" / "lib.rs").write_text(f"// {message}\n")
        subprocess.run(["git", "-C", str(workspace), "add", "-A"], check=True)
        subprocess.run(
            ["git", "-C", str(workspace), *identity, "commit", "-qm", message], check=True
        )
    args = ("detect", "--base", "HEAD^", "--format", "json")
    result = probe(workspace, tmp_path / "cache", args, NOT_WITH_GIT)

    assert result["code"] == 0
    assert result["imported"] == []


def test_the_digest_is_sha256() -> None:
    import hashlib

    from lanes.digest import sha256

    for data in (b"", b"lanes", bytes(range(256)) * 300):
        assert sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_short_command_freezes_its_start_up_objects_and_does_not_collect(
    workspace: Path, tmp_path: Path
) -> None:
    result = probe(workspace, tmp_path / "cache")

    assert result["frozen"] > 1000  # type: ignore[operator]
    assert result["enabled"] is False


def test_an_audit_freezes_its_start_up_objects_and_keeps_collecting(
    workspace: Path, tmp_path: Path
) -> None:
    result = probe(workspace, tmp_path / "cache", ("audit", "coverage", "--format", "json"))

    assert result["code"] in (0, 1)
    assert result["frozen"] > 1000  # type: ignore[operator]
    assert result["enabled"] is True


def test_an_in_process_call_leaves_the_collector_alone(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(workspace / "cache"))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"core/src/lib.rs\n")))
    frozen = gc.get_freeze_count()

    code = main(["detect", "--repo", str(workspace), "--paths-from-stdin", "--format", "json"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["selected"] == ["core"]
    assert gc.get_freeze_count() == frozen
