"""The other selection a history is compared with.

* :class:`EngineAgainst`: another configuration (``--against-rev REV``: the ``lanes.yml`` at
  REV; ``--against-config FILE``), selected by the same engine;
* :class:`CommandAgainst`: a legacy detector run once per commit, changed paths on stdin,
  ``name=true|false`` lines on stdout (or appended to ``$GITHUB_OUTPUT``), names mapped to lanes
  with ``--against-map``.

Each returns, per commit, the lanes it selects and, where it can tell, the paths behind each.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lanes.audit import gitsource
from lanes.config import ConfigError
from lanes.engine import Reason, select
from lanes.git.runner import kill
from lanes.workspace import Workspace, load_workspace

COMMAND_TIMEOUT = 60.0
PARALLEL_RUNS = 4
"""Legacy detector runs at a time for the attribution questions of one commit."""


class AgainstError(Exception):
    """The comparison cannot be set up (bad map, missing command): a usage error."""


@dataclass
class OtherSelection:
    """What the other selection chose for one commit."""

    lanes: set[str]
    paths: dict[str, list[str]] = field(default_factory=dict)  # lane -> responsible paths
    error: str | None = None
    unmapped: set[str] = field(default_factory=set)  # command outputs naming no lane


class Against(Protocol):
    description: str
    runs: int  # successful runs of a command (0 for a configuration)

    def select(
        self, sha: str, paths: Sequence[str], uncertain: Sequence[str]
    ) -> OtherSelection: ...

    def select_each(self, sha: str, groups: Sequence[Sequence[str]]) -> list[OtherSelection]:
        """:meth:`select` for each group of paths of one commit (no uncertainty), in order."""
        ...

    def never_printed(self) -> list[str]:
        """``--against-map`` names no run printed (a misspelt key reads as "never ran")."""
        ...

    def close(self) -> None: ...


def responsible_paths(reasons: Sequence[Reason]) -> list[str]:
    """The distinct paths among engine reasons (fail-safe codes carry none)."""
    return list(dict.fromkeys(reason.path for reason in reasons if reason.path is not None))


class EngineAgainst:
    """Another configuration, selected by the same engine."""

    def __init__(self, workspace: Workspace, description: str) -> None:
        self.workspace = workspace
        self.description = description
        self.runs = 0

    def select(self, sha: str, paths: Sequence[str], uncertain: Sequence[str]) -> OtherSelection:
        selection = select(paths, self.workspace.rules, self.workspace.index, uncertain=uncertain)
        chosen = set(selection.selected)
        return OtherSelection(
            chosen, {lane: responsible_paths(selection.reasons[lane]) for lane in chosen}
        )

    def select_each(self, sha: str, groups: Sequence[Sequence[str]]) -> list[OtherSelection]:
        return [self.select(sha, group, ()) for group in groups]

    def never_printed(self) -> list[str]:
        return []

    def close(self) -> None:
        return None


def against_config(repo: Path, file: Path, *, use_cache: bool = True) -> EngineAgainst:
    """``--against-config FILE``."""
    return EngineAgainst(load_workspace(repo, file, use_cache=use_cache), f"config {file}")


def against_rev(
    repo: Path, rev: str, config_path: str = "lanes.yml", *, use_cache: bool = True
) -> EngineAgainst:
    """``--against-rev REV``: the configuration file as it was at ``rev`` (``git show``)."""
    display = f"{rev}:{config_path}"
    try:
        text = gitsource.file_at(repo, rev, config_path)
    except gitsource.GitReadError as error:
        raise AgainstError(f"--against-rev {rev}: {error}") from None
    from lanes.audit.configs import config_copy

    with config_copy(text, use_cache=use_cache) as copy:
        try:
            workspace = load_workspace(repo, copy, use_cache=use_cache)
        except ConfigError as error:
            raise ConfigError(
                display, error.line, error.column, error.key, error.expected
            ) from None
    return EngineAgainst(workspace, f"{display} (lanes.yml at {rev})")


def parse_map(text: str, lanes: Sequence[str]) -> dict[str, set[str]]:
    """``"sdk_changed=sdk,rust=minimal,rust=feature"`` -> output name -> lanes."""
    mapping: dict[str, set[str]] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        name, sep, lane = (piece.strip() for piece in entry.partition("="))
        if not sep or not name or not lane:
            raise AgainstError(f"--against-map: expected NAME=LANE, got {entry!r}")
        if lane not in lanes:
            from lanes.suggest import did_you_mean

            raise AgainstError(
                f"--against-map: unknown lane {lane!r}{did_you_mean(lane, lanes)}"
                f" (lanes: {', '.join(lanes)})"
            )
        mapping.setdefault(name, set()).add(lane)
    return mapping


def parse_outputs(text: str) -> dict[str, bool]:
    """``name=true|false`` lines; every other line is ignored."""
    outputs: dict[str, bool] = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        value = value.strip().lower()
        if sep and name and value in ("true", "false"):
            outputs[name.strip()] = value == "true"
    return outputs


class CommandAgainst:
    """A legacy detector: run with changed paths on stdin (never a shell), in its own process
    group (killed as a whole on timeout).

    A run that exits non-zero, times out or prints no ``name=true|false`` line is an error for
    that commit, never "no lane". Answers are cached for the run by the detector's own content
    (the command line and every file it names, the program included) and the exact paths: the
    detector is assumed to judge paths only (``LANES_AUDIT_COMMIT`` is the first commit that
    asked). ``use_cache=False`` runs it for every question.
    """

    def __init__(
        self,
        command: str,
        repo: Path,
        lanes: Sequence[str],
        mapping: dict[str, set[str]] | None = None,
        *,
        timeout: float = COMMAND_TIMEOUT,
        use_cache: bool = True,
    ) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as error:
            raise AgainstError(f"--against-command: {error}") from None
        if not self.argv:
            raise AgainstError("--against-command: empty command")
        self.repo, self.lanes, self.mapping, self.timeout = repo, set(lanes), mapping, timeout
        self.description = f"command {command}"
        self.printed: set[str] = set()  # every output name any run printed
        self.runs = 0  # runs that succeeded
        self._identity = _detector_identity(self.argv, repo)
        self._answers: dict[str, OtherSelection] | None = {} if use_cache else None
        self._directory = tempfile.TemporaryDirectory(prefix="lanes-audit-")
        self._runs_started = itertools.count()
        self._lock = threading.Lock()

    def select(self, sha: str, paths: Sequence[str], uncertain: Sequence[str]) -> OtherSelection:
        if self._answers is None:
            return self._run(sha, paths)
        key = _paths_key(self._identity, paths)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self._run(sha, paths)
        return answer

    def select_each(self, sha: str, groups: Sequence[Sequence[str]]) -> list[OtherSelection]:
        """The groups' answers; the runs a cache does not answer go ``PARALLEL_RUNS`` at a
        time (each its own process, its own ``$GITHUB_OUTPUT``)."""
        if len(groups) < 2:
            return [self.select(sha, group, ()) for group in groups]
        from concurrent.futures import ThreadPoolExecutor

        workers = min(PARALLEL_RUNS, len(groups))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda group: self.select(sha, group, ()), groups))

    def never_printed(self) -> list[str]:
        """``--against-map`` names no successful run printed so far."""
        return sorted(set(self.mapping or {}) - self.printed)

    def _run(self, sha: str, paths: Sequence[str]) -> OtherSelection:
        output_file = Path(self._directory.name, f"github_output_{next(self._runs_started)}")
        output_file.write_bytes(b"")
        try:
            return self._run_with(sha, paths, output_file)
        finally:
            with suppress(OSError):
                output_file.unlink()

    def _run_with(self, sha: str, paths: Sequence[str], output_file: Path) -> OtherSelection:
        stdin = "".join(f"{path}\n" for path in paths).encode("utf-8", "surrogateescape")
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self.repo,
                env=self._environment(sha, output_file),
                start_new_session=True,
            )
        except OSError as error:
            raise AgainstError(f"--against-command: cannot run {self.argv[0]!r}: {error}") from None
        try:
            stdout, stderr = process.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            kill(process)
            process.communicate()
            return OtherSelection(set(), error=f"timed out after {self.timeout:g}s")
        except BaseException:
            kill(process)
            process.communicate()
            raise
        if process.returncode != 0:
            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return OtherSelection(set(), error=f"exit {process.returncode}: {''.join(last)}")
        written = _read_text(output_file)
        outputs = parse_outputs(stdout.decode("utf-8", "replace") + "\n" + written)
        if not outputs:
            return OtherSelection(set(), error="printed no name=true|false line")
        with self._lock:
            self.runs += 1
            self.printed.update(outputs)
        return self._to_lanes(outputs)

    def _environment(self, sha: str, output_file: Path) -> dict[str, str]:
        return {**os.environ, "GITHUB_OUTPUT": str(output_file), "LANES_AUDIT_COMMIT": sha}

    def _to_lanes(self, outputs: dict[str, bool]) -> OtherSelection:
        chosen: set[str] = set()
        unmapped: set[str] = set()
        for name, on in outputs.items():
            targets = self.mapping.get(name) if self.mapping is not None else None
            if targets is None:
                targets = {name} & self.lanes if self.mapping is None else set()
            if not targets:
                unmapped.add(name)
            elif on:
                chosen |= targets
        return OtherSelection(chosen, unmapped=unmapped)

    def close(self) -> None:
        self._directory.cleanup()


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8", "replace")
    except OSError:
        return ""


def _detector_identity(argv: Sequence[str], repo: Path) -> bytes:
    """The command line and the content of every file it names (the program found on PATH
    included): a changed detector script never answers from an old cache entry."""
    digest = hashlib.sha256("\0".join(argv).encode("utf-8", "surrogateescape"))
    program = shutil.which(argv[0], path=os.environ.get("PATH"))
    for word in [*argv, *([program] if program else [])]:
        candidate = Path(repo, word)
        try:
            if candidate.is_file():
                digest.update(b"\0file\0" + hashlib.sha256(candidate.read_bytes()).digest())
        except (OSError, ValueError):
            continue
    return digest.digest()


def _paths_key(identity: bytes, paths: Sequence[str]) -> str:
    digest = hashlib.sha256(identity)
    for path in sorted(paths):
        digest.update(b"\0" + path.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()
