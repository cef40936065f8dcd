"""Changed paths from git, failing safe.

Every function that returns a :class:`~lanes.model.ChangeSet` turns *any* git problem (bad
revision, corrupt repository, missing ``git``, timeout) into ``uncertain="git-error"`` with the
message in ``detail``: it never raises and never returns an empty "precise" change set because
something went wrong (failure mode U5).

Design notes:

* git is driven through GitPython's command wrapper (``git.Git.execute``): an argument list
  (never a shell), ``-z`` output and a timeout. Paths are decoded from bytes as UTF-8 with
  ``surrogateescape`` (what ``os.fsdecode`` does on POSIX), so spaces, quotes, newlines and
  non-UTF-8 bytes survive unchanged; the ``-z`` output is parsed here, not by GitPython's
  ``Diff`` objects.
* Diffs use ``--no-renames`` (a rename is its deletion plus its addition: both paths count, U3;
  no rename heuristic, no rename limit) and, where copies are requested and something was
  added, a second ``-C --find-copies-harder`` pass adds the *source* of every copy as well
  (git itself limits that pass on very large trees, see ``diff.renameLimit``).
* ``--ignore-submodules=none`` makes submodule pointer changes count whatever the config says.
* Nothing caps the number of paths (U1).
* Revisions given by callers must not start with ``-`` and are passed after ``--end-of-options``
  or before ``--``, so nothing from outside can be read as an option.
* Needs git >= 2.31 (``--diff-merges=first-parent``, ``--no-write-fetch-head``).
* ``import git`` is lazy: :func:`_git_command` imports it on the first git command. The import
  costs about 65 ms (mostly its own modules; it also runs ``git version``), so only runs that
  really read git pay for it; listed paths (``--paths-from-stdin``, ``--paths-file``:
  :mod:`lanes.pathlist`) never import it, and a test checks that.
* Each command is started by ``Git.execute(..., as_process=True)`` in its own process group and
  waited for here with a timeout; on timeout the whole group is killed (hooks, ssh, credential
  helpers included). GitPython's ``kill_after_timeout`` is not used: it kills only the
  descendants it can enumerate when it fires, then waits for pipes that an orphaned grandchild
  may still hold open (a test has such a hook). :func:`run_git` and :func:`stream_git` run
  other modules' git commands (the audits') the same way.
* GitPython's higher-level calls are not used: they cannot take that timeout; ``Diff`` decodes
  ``diff-tree`` output as UTF-8 in a reader thread, so one non-UTF-8 path yields an *empty* diff
  and no exception; ``Remote.fetch`` opens and parses ``FETCH_HEAD``, which the fetches here
  do not write (``--no-write-fetch-head``); ``Repo.commit`` resolves revisions in Python
  instead of asking git.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lanes.model import ChangeSet

if TYPE_CHECKING:
    import threading

    from git.cmd import Git

GIT_TIMEOUT = 60.0
"""Seconds allowed for one local git command."""

FETCH_TIMEOUT = 300.0
"""Seconds allowed for one ``git fetch``."""

STREAM_TIMEOUT = 1800.0
"""Seconds allowed for the whole ``git log`` stream of :func:`iter_first_parent_changes`."""

DEFAULT_MAX_DEEPEN = 2048
"""Total number of commits a shallow clone may be deepened by before giving up."""

FIRST_DEEPEN = 16
"""The first ``--deepen`` step; each further step doubles."""

NULL_SHAS = frozenset({"0" * 40, "0" * 64})

# Reason codes stored in ChangeSet.uncertain.
NO_BASE = "no-base"
BASE_NOT_FOUND = "base-not-found"
NOT_ANCESTOR = "not-ancestor"
NO_MERGE_BASE = "no-merge-base"
GIT_ERROR = "git-error"

_DIFF_OPTIONS = (
    "--name-status",
    "-z",
    "--no-renames",
    "--ignore-submodules=none",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
)
_COPY_OPTIONS = (
    "--name-status",
    "-z",
    "-C",
    "--find-copies-harder",
    "--ignore-submodules=none",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
)
_COMMIT_MARKER = b"\x01"
_TWO_PATH_STATUSES = (b"R", b"C")


class GitError(Exception):
    """A git command failed, timed out, or git is missing."""


class NotAGitRepository(GitError):
    """The directory is not inside a git work tree."""


# --------------------------------------------------------------------------- running git


def git_env() -> dict[str, str]:
    """The environment every git command of lanes runs with (the audits' too)."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # a fetch must fail, not wait for a password
    env["GIT_OPTIONAL_LOCKS"] = "0"  # reading must not take index.lock
    env["LC_ALL"] = "C"  # stable (English) error messages for `detail`
    return env


_TIMEOUTS: ContextVar[tuple[float, float]] = ContextVar(
    "lanes_git_timeouts", default=(GIT_TIMEOUT, FETCH_TIMEOUT)
)
"""(local command, fetch) time limits in seconds, set by the public functions."""


@contextmanager
def _timeouts(local: float, fetch: float) -> Iterator[None]:
    """Time limits for every git command run inside the block."""
    token = _TIMEOUTS.set((local, fetch))
    try:
        yield
    finally:
        _TIMEOUTS.reset(token)


def _git_command() -> Git:
    """GitPython's command wrapper. ``import git`` happens here, on the first git command (see
    the module notes); that first import runs ``git version`` and fails if git is missing."""
    try:
        import git
    except ImportError as exc:
        first_line = str(exc).strip().partition("\n")[0]
        raise GitError(f"cannot run git: GitPython: {first_line}") from exc
    return git.Git()


def _start(repo: Path, args: Sequence[str]) -> Git.AutoInterrupt:
    """Start ``git -C repo args`` through GitPython, reading nothing yet. The process runs in
    its own process group, so a timeout can also end what git started (hooks, ssh, credential
    helpers) instead of waiting for them to close our pipes. ``-C`` rather than GitPython's
    working directory: that one silently falls back to the current directory if ``repo`` is
    missing. Keep the handle referenced while the process runs: GitPython terminates the
    process when the handle is garbage collected."""
    runner = _git_command()
    from git.exc import GitCommandNotFound

    executable = os.fspath(runner.GIT_PYTHON_GIT_EXECUTABLE or "git")
    try:
        return runner.execute(
            [executable, "-C", os.fspath(repo), *args],
            as_process=True,
            env=git_env(),
            process_group=0 if hasattr(os, "killpg") else None,
        )
    except (GitCommandNotFound, OSError) as exc:
        raise GitError(f"cannot run git: {exc.__cause__ or exc}") from exc


def _process(handle: Git.AutoInterrupt) -> subprocess.Popen[bytes]:
    process: subprocess.Popen[bytes] | None = handle.proc
    assert process is not None, "GitPython already ended this git process"
    return process


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill git and its process group (git's children included)."""
    if hasattr(os, "killpg"):
        import signal

        with suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        process.kill()


def _run(
    repo: Path, args: Sequence[str], *, fetching: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo args``; raise :class:`GitError` if git is missing or times out."""
    local, fetch = _TIMEOUTS.get()
    timeout = fetch if fetching else local
    handle = _start(repo, args)
    process = _process(handle)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _kill(process)
        process.communicate()
        raise GitError(_timed_out(args, timeout)) from exc
    except BaseException:
        _kill(process)
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _subcommand(args: Sequence[str]) -> str:
    """The git command ``args`` runs (after any ``-c name=value``), for messages."""
    index = 0
    while index + 2 < len(args) and args[index] == "-c":
        index += 2
    return args[index]


def _timed_out(args: Sequence[str], timeout: float) -> str:
    return f"git {_subcommand(args)} timed out after {timeout:g}s"


def _exited(args: Sequence[str], code: int, stderr: str) -> str:
    message = stderr.strip().replace("\n", " ")
    return f"git {_subcommand(args)} exited with {code}: {message}"


def _describe_failure(args: Sequence[str], result: subprocess.CompletedProcess[bytes]) -> str:
    return _exited(args, result.returncode, result.stderr.decode("utf-8", "replace"))


def _git(repo: Path, args: Sequence[str]) -> bytes:
    """Run git and return its stdout; raise :class:`GitError` on a non-zero exit."""
    result = _run(repo, args)
    if result.returncode != 0:
        raise GitError(_describe_failure(args, result))
    return result.stdout


def run_git(repo: Path, args: Sequence[str], *, timeout: float = GIT_TIMEOUT) -> bytes:
    """The stdout of ``git -C repo args``, run like every git command of lanes: an argument
    list, :func:`git_env`, its own process group, which is killed as a whole (hooks and what
    they left behind included) when git exceeds ``timeout`` seconds.

    Raises :class:`GitError` when git is missing, exits non-zero (the message holds its
    stderr) or times out.
    """
    with _timeouts(timeout, FETCH_TIMEOUT):
        return _git(repo, args)


def stream_git(repo: Path, args: Sequence[str], *, timeout: float) -> Iterator[bytes]:
    """The NUL-separated tokens of the stdout of ``git -C repo args`` (``-z`` output), as git
    writes them; run like :func:`run_git`, ``timeout`` being for the whole stream.

    Raises :class:`GitError` when git fails or times out, after the tokens read so far but
    before the text after the last NUL: a record that was cut short is never yielded, and a
    partial output does not look complete.
    """
    import threading

    handle = _start(Path(repo), args)
    process = _process(handle)
    assert process.stdout is not None and process.stderr is not None
    errors = _StderrReader(process.stderr)
    expired = threading.Event()
    timer = threading.Timer(timeout, _expire, args=(process, expired))
    timer.start()
    try:
        pending = b""
        while chunk := process.stdout.read(1 << 16):
            pending += chunk
            *tokens, pending = pending.split(b"\0")
            yield from tokens
        code = process.wait()
        if code != 0:
            timed_out = expired.is_set() and code < 0
            raise GitError(
                _timed_out(args, timeout) if timed_out else _exited(args, code, errors.text())
            )
        yield pending
    finally:
        timer.cancel()
        if process.poll() is None:
            _kill(process)
        process.wait()
        process.stdout.close()
        errors.wait()


def _expire(process: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    _kill(process)


def _git_line(repo: Path, args: Sequence[str]) -> str:
    return decode_path(_git(repo, args)).strip()


def decode_path(raw: bytes) -> str:
    """git's bytes as text; undecodable bytes survive round trips (``surrogateescape``)."""
    return raw.decode("utf-8", "surrogateescape")


def _check_rev(rev: str) -> str:
    if not rev or rev.startswith("-") or "\0" in rev or "\n" in rev:
        raise GitError(f"refusing revision {rev!r}")
    return rev


def _resolve_commit(repo: Path, rev: str) -> str | None:
    """The commit SHA ``rev`` names, or None if this clone does not have it."""
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{_check_rev(rev)}^{{commit}}"]
    result = _run(repo, args)
    if result.returncode == 0:
        return decode_path(result.stdout).strip()
    if result.returncode == 1 or not result.stderr.strip():
        return None
    raise GitError(_describe_failure(args, result))


def _require_commit(repo: Path, rev: str) -> str:
    sha = _resolve_commit(repo, rev)
    if sha is None:
        raise GitError(f"unknown revision {rev!r}")
    return sha


def _merge_bases(repo: Path, base: str, head: str) -> list[str]:
    """Every best common ancestor of two commits (several for criss-cross merges)."""
    args = ["merge-base", "--all", base, head]
    result = _run(repo, args)
    if result.returncode == 0:
        return decode_path(result.stdout).split()
    if result.returncode == 1 and not result.stderr.strip():
        return []
    raise GitError(_describe_failure(args, result))


def _is_shallow(repo: Path) -> bool:
    return _git_line(repo, ["rev-parse", "--is-shallow-repository"]) == "true"


# --------------------------------------------------------------------------- parsing


def _parse_name_status(raw: bytes) -> tuple[list[str], bool]:
    """Paths of ``--name-status -z`` records (both paths of a rename or copy), and whether any
    record is an addition (only then can a copy detection pass find anything)."""
    tokens = raw.split(b"\0")
    paths: list[str] = []
    added = False
    index = 0
    while index < len(tokens):
        status = tokens[index].lstrip(b"\n")
        if not status:
            index += 1
            continue
        added = added or status.startswith(b"A")
        count = 2 if status.startswith(_TWO_PATH_STATUSES) else 1
        paths.extend(decode_path(token) for token in tokens[index + 1 : index + 1 + count])
        index += 1 + count
    return paths, added


def _sorted_unique(paths: list[str]) -> list[str]:
    return sorted(set(paths))


# --------------------------------------------------------------------------- diffs


def _diff_paths(
    repo: Path, revs: Sequence[str], *, copies: bool, cached: bool = False
) -> list[str]:
    """Changed paths of ``git diff [--cached] revs``; with ``copies``, a second pass (only if
    something was added) adds the source of every copy."""
    prefix = ["diff", "--no-relative", *(["--cached"] if cached else [])]
    paths, added = _parse_name_status(_git(repo, [*prefix, *_DIFF_OPTIONS, *revs, "--"]))
    if copies and added:
        paths.extend(_parse_name_status(_git(repo, [*prefix, *_COPY_OPTIONS, *revs, "--"]))[0])
    return paths


@dataclass
class _Basis:
    """How a change set was obtained; ``as_dict()`` is ``ChangeSet.basis``, with the same keys
    for every method (``merge-base``, ``two-dot``, ``local``, ``commit``, ``stdin``/``file``)."""

    method: str
    base_ref: str | None
    head_ref: str | None
    base: str | None = None
    head: str | None = None
    merge_base: str | None = None
    merge_bases: list[str] = field(default_factory=list)
    base_is_ancestor: bool | None = None
    depth_fetched: int = 0
    base_fetched: bool = False
    fallback: str | None = None
    shallow: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "base_ref": self.base_ref,
            "head_ref": self.head_ref,
            "base": self.base,
            "head": self.head,
            "merge_base": self.merge_base,
            "merge_bases": list(self.merge_bases),
            "base_is_ancestor": self.base_is_ancestor,
            "depth_fetched": self.depth_fetched,
            "base_fetched": self.base_fetched,
            "fallback": self.fallback,
            "shallow": self.shallow,
        }


def _uncertain(basis: _Basis, code: str, detail: str) -> ChangeSet:
    basis.fallback = "all-lanes"
    notes = "; ".join(basis.notes)
    full_detail = f"{detail} ({notes})" if notes else detail
    return ChangeSet(paths=[], basis=basis.as_dict(), uncertain=code, detail=full_detail)


def _default_remote(repo: Path) -> str | None:
    remotes = decode_path(_git(repo, ["remote"])).split()
    if "origin" in remotes:
        return "origin"
    return remotes[0] if len(remotes) == 1 else None


def _fetch(repo: Path, remote: str, options: Sequence[str], revs: Sequence[str] = ()) -> str | None:
    """Run ``git fetch``; return None on success, else the error message."""
    command = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", *options]
    command += ["--end-of-options", remote, *(_check_rev(rev) for rev in revs)]
    try:
        result = _run(repo, command, fetching=True)
    except GitError as exc:
        return str(exc)
    return None if result.returncode == 0 else _describe_failure(command, result)


def _deepen_until(repo: Path, basis: _Basis, found: bool, max_deepen: int) -> None:
    """Deepen a shallow clone (doubling steps, at most ``max_deepen`` commits in total)
    until ``_merge_target_found`` says the history is deep enough."""
    step = FIRST_DEEPEN
    while not found and basis.shallow and basis.depth_fetched < max_deepen:
        remote = _default_remote(repo)
        if remote is None:
            basis.notes.append("shallow clone without a remote to deepen from")
            return
        step = min(step, max_deepen - basis.depth_fetched)
        error = _fetch(repo, remote, [f"--deepen={step}"])
        if error is not None:
            basis.notes.append(f"deepening failed: {error}")
            return
        basis.depth_fetched += step
        step *= 2
        basis.shallow = _is_shallow(repo)
        found = _merge_target_found(repo, basis)


def _merge_target_found(repo: Path, basis: _Basis) -> bool:
    """Whether the history now holds what the requested diff needs."""
    assert basis.base is not None and basis.head is not None
    basis.merge_bases = _merge_bases(repo, basis.base, basis.head)
    if basis.method == "two-dot":
        return basis.base in basis.merge_bases
    return bool(basis.merge_bases)


def _looks_like_sha(rev: str) -> bool:
    return len(rev) in (40, 64) and all(char in "0123456789abcdefABCDEF" for char in rev)


def _fetch_plan(base: str, remote: str) -> tuple[str, list[str]] | None:
    """(refspec to fetch, revisions to try afterwards) for a base this clone lacks: a SHA is
    fetched as is; a branch (``main``, ``origin/main``, ``refs/heads/main``...) into its
    remote-tracking ref. None for anything else."""
    if _looks_like_sha(base):
        return base, [base]
    branch = base
    for prefix in (f"refs/remotes/{remote}/", f"{remote}/", "refs/heads/"):
        branch = branch.removeprefix(prefix)
    if not branch or any(char in _NOT_IN_BRANCH for char in branch) or branch.startswith("-"):
        return None
    tracking = f"refs/remotes/{remote}/{branch}"
    return f"+refs/heads/{branch}:{tracking}", [base, tracking]


_NOT_IN_BRANCH = frozenset(" ~^:?*[\\\0\n\t")


def _locate_base(repo: Path, basis: _Basis, base: str, fetch: bool) -> str | None:
    """The base's SHA; fetched from the remote if this clone lacks it (and ``fetch``)."""
    sha = _resolve_commit(repo, base)
    if sha is not None or not fetch:
        return sha
    remote = _default_remote(repo)
    if remote is None:
        basis.notes.append("no remote to fetch the base from")
        return None
    plan = _fetch_plan(base, remote)
    if plan is None:
        basis.notes.append(f"cannot fetch {base!r}: neither a SHA nor a branch name")
        return None
    refspec, candidates = plan
    depth = [f"--depth={FIRST_DEEPEN}"] if basis.shallow else []
    error = _fetch(repo, remote, depth, [refspec])
    if error is not None:
        basis.notes.append(f"fetching the base failed: {error}")
        return None
    for candidate in candidates:
        sha = _resolve_commit(repo, candidate)
        if sha is not None:
            basis.base_fetched = True
            return sha
    return None


def _find_history(
    repo: Path, basis: _Basis, *, max_deepen: int, fetch: bool
) -> tuple[str, str] | None:
    """Locate the base and the merge bases (fetching, deepening); ``(code, detail)`` if the
    requested diff cannot be computed."""
    base = (basis.base_ref or "").strip()
    if not base or base in NULL_SHAS:
        return NO_BASE, f"no base revision given ({basis.base_ref!r})"
    basis.base = _locate_base(repo, basis, _check_rev(base), fetch)
    if basis.base is None:
        return BASE_NOT_FOUND, f"base {base!r} is not in this clone"
    found = _merge_target_found(repo, basis)
    if fetch:
        _deepen_until(repo, basis, found, max_deepen)
    if not basis.merge_bases:
        where = " (shallow clone)" if basis.shallow else ""
        return NO_MERGE_BASE, f"{base!r} and {basis.head_ref!r} share no history{where}"
    basis.merge_base = basis.merge_bases[0]
    basis.base_is_ancestor = basis.merge_bases == [basis.base]
    if basis.method == "two-dot" and not basis.base_is_ancestor:
        return NOT_ANCESTOR, f"{base!r} is not an ancestor of {basis.head_ref!r}"
    return None


def _changes_between(
    repo: Path, basis: _Basis, head: str, *, max_deepen: int, copies: bool, fetch: bool
) -> ChangeSet:
    basis.head = _require_commit(repo, head)
    basis.shallow = _is_shallow(repo)
    problem = _find_history(repo, basis, max_deepen=max_deepen, fetch=fetch)
    if problem is not None:
        return _uncertain(basis, *problem)
    assert basis.base is not None
    starts = [basis.base] if basis.method == "two-dot" else basis.merge_bases
    paths: list[str] = []
    for start in starts:
        paths.extend(_diff_paths(repo, [start, basis.head], copies=copies))
    return ChangeSet(paths=_sorted_unique(paths), basis=basis.as_dict())


def changes_between(
    repo: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    merge_base: bool = True,
    max_deepen: int = DEFAULT_MAX_DEEPEN,
    copies: bool = True,
    fetch: bool = True,
    timeout: float = GIT_TIMEOUT,
    fetch_timeout: float = FETCH_TIMEOUT,
) -> ChangeSet:
    """The paths changed on ``head`` relative to ``base``.

    With ``merge_base`` (pull requests): the diff from the merge base(s) of ``base`` and ``head``
    to ``head`` (``git diff base...head``); a base that is not an ancestor of head (force push) is
    fine as long as they share history. Without it (pushes): ``git diff base..head``, which needs
    ``base`` to be an ancestor of ``head``.

    A missing base is fetched from the remote (``origin``, else the only remote): a SHA as is,
    a branch name (``main``, ``origin/main``) into its remote-tracking ref. A shallow clone is
    deepened by doubling steps, at most ``max_deepen`` commits in total, until the merge base
    (or, without ``merge_base``, the base as an ancestor) is found. ``fetch=False`` never
    touches the network.

    Otherwise the result is uncertain: ``no-base``, ``base-not-found``, ``no-merge-base``,
    ``not-ancestor``, or ``git-error`` for any git failure (including a local git command
    exceeding ``timeout`` or a fetch exceeding ``fetch_timeout`` seconds).
    """
    basis = _Basis(method="merge-base" if merge_base else "two-dot", base_ref=base, head_ref=head)
    try:
        with _timeouts(timeout, fetch_timeout):
            return _changes_between(
                Path(repo), basis, head, max_deepen=max_deepen, copies=copies, fetch=fetch
            )
    except GitError as exc:
        return _uncertain(basis, GIT_ERROR, str(exc))


# --------------------------------------------------------------------------- local changes


def repo_root(start: Path) -> Path:
    """The top level of the git work tree containing ``start``."""
    args = ["rev-parse", "--show-toplevel"]
    result = _run(Path(start), args)
    if result.returncode != 0:
        raise NotAGitRepository(f"{start}: {_describe_failure(args, result)}")
    return Path(decode_path(result.stdout).rstrip("\n"))


_UPSTREAM_CANDIDATES = (
    "refs/remotes/origin/main",
    "refs/remotes/origin/master",
    "refs/heads/main",
    "refs/heads/master",
)


def _default_upstream(root: Path) -> str | None:
    """``origin/HEAD``'s target, else origin's main/master, else local main/master."""
    result = _run(root, ["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"])
    origin_head = [decode_path(result.stdout).strip()] if result.returncode == 0 else []
    for ref in [*origin_head, *_UPSTREAM_CANDIDATES]:
        if _resolve_commit(root, ref) is not None:
            return ref
    return None


def _untracked(root: Path) -> list[str]:
    raw = _git(root, ["ls-files", "--others", "--exclude-standard", "-z", "--full-name", "--"])
    return [decode_path(token) for token in raw.split(b"\0") if token]


def _local_changes(
    root: Path, basis: _Basis, *, copies: bool, fetch: bool, max_deepen: int
) -> ChangeSet:
    basis.shallow = _is_shallow(root)
    basis.head = _resolve_commit(root, "HEAD")
    if basis.head is None:
        return _uncertain(basis, NO_BASE, "the repository has no commit yet")
    basis.base_ref = basis.base_ref or _default_upstream(root)
    if basis.base_ref is None:
        return _uncertain(basis, NO_BASE, "no upstream branch (origin/HEAD, main or master)")
    basis.base = _resolve_commit(root, basis.base_ref)
    if basis.base is None:
        return _uncertain(basis, BASE_NOT_FOUND, f"upstream {basis.base_ref!r} not found")
    found = _merge_target_found(root, basis)
    if fetch:
        _deepen_until(root, basis, found, max_deepen)
    if not basis.merge_bases:
        return _uncertain(basis, NO_MERGE_BASE, f"HEAD shares no history with {basis.base_ref!r}")
    basis.merge_base = basis.merge_bases[0]
    basis.base_is_ancestor = basis.merge_bases == [basis.base]
    paths = _untracked(root)
    for start in basis.merge_bases:
        paths.extend(_diff_paths(root, [start], copies=copies))
        paths.extend(_diff_paths(root, [start], copies=False, cached=True))
    return ChangeSet(paths=_sorted_unique(paths), basis=basis.as_dict())


def local_changes(
    repo: Path,
    upstream: str | None = None,
    *,
    copies: bool = True,
    fetch: bool = True,
    max_deepen: int = DEFAULT_MAX_DEEPEN,
    timeout: float = GIT_TIMEOUT,
    fetch_timeout: float = FETCH_TIMEOUT,
) -> ChangeSet:
    """Pre-merge default: working tree, index and untracked (not ignored) files against the merge
    base of HEAD with ``upstream`` (default: the remote's default branch, see
    :func:`_default_upstream`). Method ``local``. A shallow clone is deepened as in
    :func:`changes_between` (unless ``fetch=False``); the same reason codes, ``git-error`` also
    when a git command exceeds its timeout."""
    basis = _Basis(method="local", base_ref=upstream, head_ref="HEAD")
    try:
        if upstream is not None:
            _check_rev(upstream)
        with _timeouts(timeout, fetch_timeout):
            root = repo_root(repo)
            return _local_changes(root, basis, copies=copies, fetch=fetch, max_deepen=max_deepen)
    except GitError as exc:
        return _uncertain(basis, GIT_ERROR, str(exc))


# --------------------------------------------------------------------------- commits


_COMMIT_FORMAT = "--format=%H %P"


def _commit_basis(sha: str, parents: list[str], head_ref: str | None = None) -> dict[str, object]:
    """``basis`` of a commit diffed against its first parent (None: a root commit)."""
    basis = _Basis(method="commit", base_ref=None, head_ref=head_ref or sha, head=sha)
    basis.base = parents[0] if parents else None
    return basis.as_dict()


def _commit_paths(
    repo: Path, sha: str, options: Sequence[str]
) -> tuple[list[str], list[str], bool]:
    """One ``git diff-tree`` of a commit: its SHA and parents, its changed paths, and whether
    it added a file."""
    common = ["--root", "--always", "--diff-merges=first-parent", "-r", _COMMIT_FORMAT]
    raw = _git(repo, ["diff-tree", *common, *options, "--end-of-options", sha, "--"])
    header, _, records = raw.partition(b"\0")
    return decode_path(header).split(), *_parse_name_status(records)


def commit_changes(
    repo: Path, sha: str, *, copies: bool = False, timeout: float = GIT_TIMEOUT
) -> ChangeSet:
    """The paths one commit changed against its first parent (a root commit: against the empty
    tree), in one ``git diff-tree`` call (two with ``copies``, which adds copy sources).
    Method ``commit``; ``basis["base"]`` is the first parent (None for a root commit)."""
    try:
        with _timeouts(timeout, FETCH_TIMEOUT):
            ids, paths, added = _commit_paths(Path(repo), _check_rev(sha), _DIFF_OPTIONS)
            if copies and added:
                paths.extend(_commit_paths(Path(repo), sha, _COPY_OPTIONS)[1])
    except GitError as exc:
        return _uncertain(_Basis(method="commit", base_ref=None, head_ref=sha), GIT_ERROR, str(exc))
    if not ids:
        failed = _Basis(method="commit", base_ref=None, head_ref=sha)
        return _uncertain(failed, GIT_ERROR, f"git diff-tree printed no commit for {sha!r}")
    return ChangeSet(paths=_sorted_unique(paths), basis=_commit_basis(ids[0], ids[1:], sha))


def _parse_log(tokens: Iterator[bytes]) -> Iterator[tuple[list[str], list[str]]]:
    """([sha, parents...], paths) per commit of ``git log -z --name-status --format=%x01%H %P``.

    The last commit comes only once the tokens ended, which :func:`stream_git` allows only once
    git exited successfully.
    """
    ids: list[str] | None = None
    paths: list[str] = []
    for token in tokens:
        status = token.lstrip(b"\n")
        if status.startswith(_COMMIT_MARKER):
            if ids is not None:
                yield ids, paths
            ids, paths = decode_path(status[1:]).split(), []
        elif status:
            count = 2 if status.startswith(_TWO_PATH_STATUSES) else 1
            paths.extend(decode_path(next(tokens, b"")) for _ in range(count))
    if ids is not None:
        yield ids, paths


def _log_args(rev_range: str) -> list[str]:
    return [
        "-c",
        "log.showRoot=true",
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--no-show-signature",
        "--no-relative",
        "--format=%x01%H %P",
        *_DIFF_OPTIONS,
        "--end-of-options",
        _check_rev(rev_range),
        "--",
    ]


def iter_first_parent_changes(
    repo: Path, rev_range: str, *, timeout: float = STREAM_TIMEOUT
) -> Iterator[tuple[str, ChangeSet]]:
    """``(sha, changes)`` for each commit of ``rev_range`` along first parents, newest first,
    each diffed against its first parent (a root commit against the empty tree), streamed from
    ONE ``git log`` process. Copy sources are not added (``--no-renames`` only).

    Unlike the other functions this raises :class:`GitError` (after the commits read so far)
    when git fails or exceeds ``timeout``: a partial history must not look complete.
    """
    for ids, paths in _parse_log(stream_git(Path(repo), _log_args(rev_range), timeout=timeout)):
        yield _commit_change_set(ids, paths)


class _StderrReader:
    """Reads a process's stderr in a thread, so that git never blocks on a full stderr pipe
    while we read its stdout. Waits at most ``grace`` seconds for the end of the stream once
    git ended (something git started might still hold the pipe open)."""

    def __init__(self, stream: IO[bytes], grace: float = 2.0) -> None:
        import threading

        self._stream = stream
        self._grace = grace
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with suppress(OSError, ValueError), self._stream:
            while chunk := self._stream.read(1 << 16):
                self._chunks.append(chunk)

    def text(self) -> str:
        """What git wrote to stderr, on one line (call once git ended)."""
        self.wait()
        message = b"".join(self._chunks).decode("utf-8", "replace")
        return message.strip().replace("\n", " ")

    def wait(self) -> None:
        self._thread.join(self._grace)


def _commit_change_set(ids: list[str], paths: list[str]) -> tuple[str, ChangeSet]:
    changes = ChangeSet(paths=_sorted_unique(paths), basis=_commit_basis(ids[0], ids[1:]))
    return ids[0], changes
