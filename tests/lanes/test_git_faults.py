"""A hung, missing or misconfigured ``git`` makes ``lanes detect --base`` fail safe
(``git-error``, every lane), in a real ``lanes`` process with a fake ``git`` first on PATH.

lanes runs git itself (no GitPython: its import runs ``git version`` with no time limit) and
bounds every command (``$LANES_GIT_TIMEOUT``). Each run is bounded by
``RUN_LIMIT``: a hang fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.lanes.fixtures import commit_all, git, write_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

MAIN = "import sys; from lanes.cli import main; sys.exit(main(sys.argv[1:]))"
RUN_LIMIT = 60.0
REAL_GIT = shutil.which("git") or "git"

HANGS_ON_VERSION = f"""#!/bin/sh
# `git version` never answers (GitPython's start-up probe); everything else is the real git.
for arg in "$@"; do
  if [ "$arg" = version ]; then exec sleep 600; fi
done
exec {REAL_GIT} "$@"
"""
HANGS_ALWAYS = "#!/bin/sh\nexec sleep 600\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write_files(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["core", "app"]\n',
            "core/Cargo.toml": '[package]\nname = "core"\n',
            "app/Cargo.toml": '[package]\nname = "app"\n',
        },
    )
    commit_all(root, "initial")
    write_files(root, {"core/src/lib.rs": "// change\n"})
    commit_all(root, "core change")
    return root


def fake_git(directory: Path, script: str) -> Path:
    directory.mkdir()
    program = directory / "git"
    program.write_text(script)
    program.chmod(0o755)
    return directory


def detect(repo: Path, path: str, **env: str) -> dict[str, Any]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("GIT_PYTHON")
    }
    environment.update({"PATH": path, "LANES_CACHE_DIR": str(repo / ".git" / "c"), **env})
    result = subprocess.run(
        [sys.executable, "-c", MAIN, "detect", "--base", "HEAD~1", "--format", "json"],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_git_that_hangs_on_git_version_does_not_hang_lanes(repo: Path, tmp_path: Path) -> None:
    bin_dir = fake_git(tmp_path / "bin", HANGS_ON_VERSION)

    data = detect(repo, f"{bin_dir}{os.pathsep}/usr/bin:/bin", LANES_GIT_TIMEOUT="5")

    # lanes never runs `git version`: the real diff is used, precisely
    assert data["mode"] == "precise"
    assert data["selected"] == ["core"]


def test_a_git_that_hangs_on_every_command_is_a_git_error(repo: Path, tmp_path: Path) -> None:
    bin_dir = fake_git(tmp_path / "bin", HANGS_ALWAYS)

    data = detect(repo, f"{bin_dir}{os.pathsep}/usr/bin:/bin", LANES_GIT_TIMEOUT="1")

    assert data["mode"] == "fail-safe"
    assert "git-error" in data["failsafe"]
    assert data["selected"] == ["app", "core"]


def test_a_missing_git_is_a_git_error(repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()

    data = detect(repo, str(empty))

    assert data["mode"] == "fail-safe"
    assert "git-error" in data["failsafe"]
    assert data["selected"] == ["app", "core"]


def test_a_git_python_executable_that_hangs_is_a_git_error(repo: Path, tmp_path: Path) -> None:
    bin_dir = fake_git(tmp_path / "bin", HANGS_ALWAYS)

    data = detect(
        repo,
        "/usr/bin:/bin",
        GIT_PYTHON_GIT_EXECUTABLE=str(bin_dir / "git"),
        LANES_GIT_TIMEOUT="1",
    )

    assert data["mode"] == "fail-safe"
    assert "git-error" in data["failsafe"]


@pytest.mark.parametrize("value", ["soon", "0", "-1", "nan", "inf"])
def test_a_bad_time_limit_is_a_git_error_not_an_unbounded_git(repo: Path, value: str) -> None:
    data = detect(repo, os.environ.get("PATH", "/usr/bin:/bin"), LANES_GIT_TIMEOUT=value)

    assert data["mode"] == "fail-safe"
    assert "git-error" in data["failsafe"]


def test_detect_from_git_imports_no_gitpython_and_runs_no_git_version(
    repo: Path, tmp_path: Path
) -> None:
    """GitPython's import alone cost more than a whole detection, and ran ``git version``
    unbounded: the ``--base`` path imports neither it nor anything that probes git."""
    log = tmp_path / "git-calls"
    script = f'#!/bin/sh\necho "$*" >> {log}\nexec {REAL_GIT} "$@"\n'
    bin_dir = fake_git(tmp_path / "bin", script)
    probe = (
        "import sys; from lanes.cli import main;"
        "code = main(['detect', '--base', 'HEAD~1', '--format', 'json']);"
        "print('git' in sys.modules, file=sys.stderr); sys.exit(code)"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
    environment.update(PATH=f"{bin_dir}{os.pathsep}/usr/bin:/bin", LANES_CACHE_DIR=str(tmp_path))

    def run() -> list[str]:
        log.write_text("")
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=repo,
            env=environment,
            capture_output=True,
            text=True,
            timeout=RUN_LIMIT,
            check=True,
        )
        assert json.loads(result.stdout)["selected"] == ["core"]
        assert result.stderr.strip().splitlines()[-1] == "False"
        return [call.split()[2] for call in log.read_text().splitlines()]  # after -C repo

    run()  # cold: fills the caches
    # warm: one rev-parse for head, base and shallowness, one merge-base, the diff and (a file
    # was added) its copy-source pass
    assert run() == ["rev-parse", "merge-base", "diff", "diff"]


def test_the_manifest_listing_runs_git_like_every_other_git_command(
    repo: Path, tmp_path: Path
) -> None:
    """Discovery lists tracked manifests with ``git ls-files``: through the configured git
    executable and under the same time limit; a git that hangs there makes discovery walk the
    tree (which finds every manifest on disk), not hang or find nothing."""
    log = tmp_path / "git-calls"
    logging = f'#!/bin/sh\necho "$*" >> {log}\nexec {REAL_GIT} "$@"\n'
    logger = fake_git(tmp_path / "logging", logging)
    hanging = fake_git(tmp_path / "hanging", HANGS_ALWAYS)
    for executable, cache in ((logger, "c1"), (hanging, "c2")):
        environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
        environment.update(
            {
                "PATH": "/usr/bin:/bin",
                "LANES_CACHE_DIR": str(tmp_path / cache),
                "GIT_PYTHON_GIT_EXECUTABLE": str(executable / "git"),
                "LANES_GIT_TIMEOUT": "1",
            }
        )
        result = subprocess.run(
            [sys.executable, "-c", MAIN, "detect", "--paths-from-stdin", "--format", "json"],
            cwd=repo,
            env=environment,
            input="core/src/lib.rs\n",
            capture_output=True,
            text=True,
            timeout=RUN_LIMIT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert (data["mode"], data["selected"]) == ("precise", ["core"])
    assert "ls-files" in log.read_text()
