"""Running git: every git command of lanes (the audits' too) goes through here.

* An argument list (never a shell), :func:`git_env`, ``-C repo`` (never the current directory:
  a missing ``repo`` is git's error, not a silent read of somewhere else).
* Each command is started with :class:`subprocess.Popen` in its own process group and waited
  for here with a timeout; on timeout the whole group is killed (hooks, ssh, credential helpers
  included).
* GitPython is not used. Its ``Git.execute(..., as_process=True)`` is a thin wrapper over
  ``Popen``, yet importing it costs 70 to 170 ms (more than the whole detection from a path
  list) and runs ``git version`` with no time limit; its ``kill_after_timeout`` kills only the
  descendants it can enumerate, then waits for pipes an orphaned grandchild may still hold;
  its higher-level calls cannot take a timeout (``Remote.fetch`` also parses ``FETCH_HEAD``,
  which the fetches here do not write).
* The executable is ``$GIT_PYTHON_GIT_EXECUTABLE`` when set (the variable GitPython users
  already set), else ``git`` on ``PATH``; a missing one is a failure to start, a hung one a
  timeout, both :class:`GitError`, like any other git failure.
* ``$LANES_GIT_TIMEOUT`` and ``$LANES_GIT_FETCH_TIMEOUT`` (seconds) change the default limits of
  one local command and one fetch; a value that is not a positive number makes every git command
  fail (a :class:`GitError` naming the variable), never run unbounded.
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import IO, TYPE_CHECKING

from lanes.git.parse import decode_path
from lanes.model import StrPath

if TYPE_CHECKING:
    import threading


class GitError(Exception):
    """A git command failed, timed out, or git is missing."""


class NotAGitRepository(GitError):
    """The directory is not inside a git work tree."""


TIMEOUT_ENV = "LANES_GIT_TIMEOUT"
FETCH_TIMEOUT_ENV = "LANES_GIT_FETCH_TIMEOUT"
_BAD_SETTINGS: dict[str, str] = {}


def _seconds(variable: str, default: float) -> float:
    """A time limit from the environment (``default`` when unset); NaN, recorded, when bad."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        _BAD_SETTINGS[variable] = text
        return math.nan
    return value


GIT_TIMEOUT = _seconds(TIMEOUT_ENV, 60.0)
"""Seconds allowed for one local git command (``$LANES_GIT_TIMEOUT``, default 60)."""

FETCH_TIMEOUT = _seconds(FETCH_TIMEOUT_ENV, 300.0)
"""Seconds allowed for one ``git fetch`` (``$LANES_GIT_FETCH_TIMEOUT``, default 300)."""

STREAM_TIMEOUT = 1800.0
"""Seconds allowed for a whole ``git log`` stream (:mod:`lanes.git.commits`)."""

GIT_EXECUTABLE_ENV = "GIT_PYTHON_GIT_EXECUTABLE"


def git_env() -> dict[str, str]:
    """The environment every git command of lanes runs with (the audits' too)."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a fetch must fail, not wait for a password
    env["GIT_OPTIONAL_LOCKS"] = "0"  # reading must not take index.lock
    env["LC_ALL"] = "C"  # stable (English) error messages for `detail`
    return env


def git_executable() -> str:
    """The git lanes runs: ``$GIT_PYTHON_GIT_EXECUTABLE``, else ``git`` found on ``PATH``."""
    return os.environ.get(GIT_EXECUTABLE_ENV) or "git"


_TIMEOUTS: ContextVar[tuple[float, float]] = ContextVar(
    "lanes_git_timeouts", default=(GIT_TIMEOUT, FETCH_TIMEOUT)
)
"""(local command, fetch) time limits in seconds, set by the public functions."""


@contextmanager
def timeouts(local: float, fetch: float) -> Iterator[None]:
    """Time limits for every git command run inside the block."""
    token = _TIMEOUTS.set((local, fetch))
    try:
        yield
    finally:
        _TIMEOUTS.reset(token)


def _checked(timeout: float) -> float:
    if timeout > 0:
        return timeout
    settings = ", ".join(f"${name}={text!r}" for name, text in sorted(_BAD_SETTINGS.items()))
    raise GitError(f"invalid git time limit {settings or timeout!r}: expected seconds (> 0)")


def start(repo: StrPath, args: Sequence[str], *, stdin: bool = False) -> subprocess.Popen[bytes]:
    """Start ``git -C repo args``, reading nothing yet, in its own process group (with a pipe
    to its stdin if ``stdin``, else an empty stdin)."""
    try:
        return subprocess.Popen(
            [git_executable(), "-C", os.fspath(repo), *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=git_env(),
            process_group=0 if hasattr(os, "killpg") else None,
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from exc


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill git and its process group (git's children included)."""
    if hasattr(os, "killpg"):
        import signal

        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        process.kill()


def run(
    repo: StrPath, args: Sequence[str], *, fetching: bool = False, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo args`` (``stdin`` written to its standard input); raise
    :class:`GitError` if git is missing or times out."""
    local, fetch = _TIMEOUTS.get()
    timeout = _checked(fetch if fetching else local)
    process = start(repo, args, stdin=stdin is not None)
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        kill(process)
        process.communicate()
        raise GitError(timed_out(args, timeout)) from exc
    except BaseException:
        kill(process)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _subcommand(args: Sequence[str]) -> str:
    """The git command ``args`` runs (after any ``-c name=value``), for messages."""
    index = 0
    while index + 2 < len(args) and args[index] == "-c":
        index += 2
    return args[index]


def timed_out(args: Sequence[str], timeout: float) -> str:
    return f"git {_subcommand(args)} timed out after {timeout:g}s"


def exited(args: Sequence[str], code: int, stderr: str) -> str:
    message = stderr.strip().replace("\n", " ")
    return f"git {_subcommand(args)} exited with {code}: {message}"


def describe_failure(args: Sequence[str], result: subprocess.CompletedProcess[bytes]) -> str:
    return exited(args, result.returncode, result.stderr.decode("utf-8", "replace"))


def output(repo: StrPath, args: Sequence[str], *, stdin: bytes | None = None) -> bytes:
    """Run git and return its stdout; raise :class:`GitError` on a non-zero exit."""
    result = run(repo, args, stdin=stdin)
    if result.returncode != 0:
        raise GitError(describe_failure(args, result))
    return result.stdout


def output_line(repo: StrPath, args: Sequence[str]) -> str:
    return decode_path(output(repo, args)).strip()


def run_git(
    repo: StrPath, args: Sequence[str], *, timeout: float = GIT_TIMEOUT, stdin: bytes | None = None
) -> bytes:
    """The stdout of ``git -C repo args``, run like every git command of lanes: an argument
    list, :func:`git_env`, its own process group, which is killed as a whole (hooks and what
    they left behind included) when git exceeds ``timeout`` seconds.

    Raises :class:`GitError` when git is missing, exits non-zero (the message holds its
    stderr) or times out.
    """
    with timeouts(timeout, FETCH_TIMEOUT):
        return output(repo, args, stdin=stdin)


def stream_git(repo: StrPath, args: Sequence[str], *, timeout: float) -> Iterator[bytes]:
    """The NUL-separated tokens of the stdout of ``git -C repo args`` (``-z`` output), as git
    writes them; run like :func:`run_git`, ``timeout`` being for the whole stream.

    Raises :class:`GitError` when git fails or times out, after the tokens read so far but
    before the text after the last NUL: a record that was cut short is never yielded, and a
    partial output does not look complete.
    """
    import threading

    timeout = _checked(timeout)
    process = start(repo, args)
    assert process.stdout is not None and process.stderr is not None
    errors = _StderrReader(process.stderr)
    expired = threading.Event()
    timer = threading.Timer(timeout, _expire, args=(process, expired))
    timer.daemon = True  # a stream left unfinished must not keep the interpreter from exiting
    timer.start()
    try:
        pending = b""
        while chunk := process.stdout.read(1 << 16):
            pending += chunk
            *tokens, pending = pending.split(b"\0")
            yield from tokens
        code = process.wait()
        if code != 0:
            late = expired.is_set() and code < 0
            raise GitError(timed_out(args, timeout) if late else exited(args, code, errors.text()))
        yield pending
    finally:
        timer.cancel()
        if process.poll() is None:
            kill(process)
        process.wait()
        process.stdout.close()
        errors.wait()


def _expire(process: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    kill(process)


class _StderrReader:
    """Reads a process's stderr in a thread, so that git never blocks on a full stderr pipe
    while we read its stdout. Waits at most ``grace`` seconds for the end of the stream once
    git ended (something git started might still hold the pipe open)."""

    def __init__(self, stream: IO[bytes], grace: float = 2.0) -> None:
        import threading

        # The thread reads its own duplicate of the descriptor and never touches the Python
        # file object: a daemon thread frozen at interpreter exit while it holds that object's
        # lock (in a read or a close) makes the exit abort when a finaliser closes the same
        # object then. The object itself is closed here, in the calling thread.
        self._descriptor = os.dup(stream.fileno())
        stream.close()
        self._grace = grace
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with suppress(OSError):
                while chunk := os.read(self._descriptor, 1 << 16):
                    self._chunks.append(chunk)
        finally:
            os.close(self._descriptor)

    def text(self) -> str:
        """What git wrote to stderr, on one line (call once git ended)."""
        self.wait()
        message = b"".join(self._chunks).decode("utf-8", "replace")
        return message.strip().replace("\n", " ")

    def wait(self) -> None:
        self._thread.join(self._grace)
