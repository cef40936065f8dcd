"""lanes.audit.gitsource against real git repositories that hang (no mocks): every audit read
has a time limit, after which git and everything it started are killed and a typed error is
raised."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from lanes.audit.gitsource import GitReadError, git_output, iter_subjects
from lanes.git.runner import GitError
from tests.lanes.fixtures import GIT_ENV, commit_all, git, write_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

HANG = 10
"""Seconds a hanging git would take; every test must end well before."""


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git configuration for the git commands lanes runs."""
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    write_files(root, {"README.md": "readme\n"})
    commit_all(root, "first")
    commit_all(root, "second")
    return root


def test_a_git_read_whose_hook_leaves_an_orphaned_child_times_out(
    repo: Path, tmp_path: Path
) -> None:
    monitor = tmp_path / "slow-fsmonitor"
    # `ls-files` runs the fsmonitor hook; the subshell exits at once, so its sleep is no longer
    # below git (nothing that walks git's children finds it) but still holds git's stderr.
    monitor.write_text(f"#!/bin/sh\n(sleep {HANG} &)\nsleep {HANG}\n")
    monitor.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(monitor))

    started = time.monotonic()
    with pytest.raises(GitReadError, match="timed out") as raised:
        git_output(repo, ["ls-files", "-z", "--full-name", "--"], timeout=0.5)

    assert time.monotonic() - started < 4
    assert isinstance(raised.value, GitError)


def test_iter_subjects_times_out_when_git_log_hangs(repo: Path) -> None:
    # A partial clone whose promisor remote hangs: `git log` lazily fetches the missing parent
    # commit, and the upload-pack it starts for that never answers.
    parent = git(repo, "rev-parse", "HEAD~1").strip()
    git(repo, "config", "core.repositoryformatversion", "1")
    git(repo, "config", "extensions.partialClone", "origin")
    git(repo, "config", "remote.origin.url", f"file://{repo}")
    git(repo, "config", "remote.origin.promisor", "true")
    git(repo, "config", "remote.origin.uploadpack", f"(sleep {HANG} &); sleep {HANG}; :")
    os.remove(repo / ".git" / "objects" / parent[:2] / parent[2:])

    started = time.monotonic()
    with pytest.raises(GitReadError, match="timed out"):
        list(iter_subjects(repo, "HEAD", timeout=0.5))

    assert time.monotonic() - started < 4


def test_iter_subjects_raises_when_git_fails(repo: Path) -> None:
    assert [subject for _, subject in iter_subjects(repo, "HEAD")] == ["second", "first"]
    with pytest.raises(GitReadError, match="no-such-rev"):
        list(iter_subjects(repo, "no-such-rev..HEAD"))


def test_a_stream_left_unfinished_does_not_keep_the_process_alive(repo: Path) -> None:
    """A git stream read only in part (its generator still referenced at exit) must not keep
    the interpreter waiting for the stream's time limit."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from lanes.audit.gitsource import iter_subjects;"
        "subjects = iter_subjects(Path(sys.argv[1]), 'HEAD'); print(next(subjects)[1])"
    )
    # Several at once: the exit used to abort (SIGABRT) in a few runs in a hundred, when a
    # daemon thread was frozen holding the lock of a file object that a finaliser then closed.
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(repo)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(12)
    ]
    for child in children:
        stdout, stderr = child.communicate(timeout=HANG * 3)  # the stream's own limit: 30 min
        assert child.returncode == 0, stderr
        assert stdout.strip() == "second"
