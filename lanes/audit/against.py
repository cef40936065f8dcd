"""The other selection a history is compared with.

* :class:`EngineAgainst`: another configuration (``--against-rev REV``: the ``lanes.yml`` at
  REV; ``--against-config FILE``), selected by the same engine;
* :class:`CommandAgainst`: a legacy detector run once per commit, changed paths on stdin,
  ``name=true|false`` lines on stdout (or appended to ``$GITHUB_OUTPUT``), names mapped to lanes
  with ``--against-map``.

Each returns, per commit, the lanes it selects and, where it can tell, the paths behind each.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lanes.audit import gitsource
from lanes.config import ConfigError
from lanes.engine import Reason, select
from lanes.workspace import Workspace, load_workspace

COMMAND_TIMEOUT = 60.0


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

    def select(
        self, sha: str, paths: Sequence[str], uncertain: Sequence[str]
    ) -> OtherSelection: ...

    def close(self) -> None: ...


def responsible_paths(reasons: Sequence[Reason]) -> list[str]:
    """The distinct paths among engine reasons (fail-safe codes carry none)."""
    return list(dict.fromkeys(reason.path for reason in reasons if reason.path is not None))


class EngineAgainst:
    """Another configuration, selected by the same engine."""

    def __init__(self, workspace: Workspace, description: str) -> None:
        self.workspace = workspace
        self.description = description

    def select(self, sha: str, paths: Sequence[str], uncertain: Sequence[str]) -> OtherSelection:
        selection = select(paths, self.workspace.rules, self.workspace.index, uncertain=uncertain)
        chosen = set(selection.selected)
        return OtherSelection(
            chosen, {lane: responsible_paths(selection.reasons[lane]) for lane in chosen}
        )

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
    with tempfile.TemporaryDirectory(prefix="lanes-audit-") as directory:
        copy = Path(directory) / "lanes.yml"
        copy.write_bytes(text)
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
            raise AgainstError(f"--against-map: unknown lane {lane!r} (lanes: {', '.join(lanes)})")
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
    """A legacy detector: run per commit with the changed paths on stdin (never a shell)."""

    def __init__(
        self,
        command: str,
        repo: Path,
        lanes: Sequence[str],
        mapping: dict[str, set[str]] | None = None,
        *,
        timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as error:
            raise AgainstError(f"--against-command: {error}") from None
        if not self.argv:
            raise AgainstError("--against-command: empty command")
        self.repo, self.lanes, self.mapping, self.timeout = repo, set(lanes), mapping, timeout
        self.description = f"command {command}"
        self._directory = tempfile.TemporaryDirectory(prefix="lanes-audit-")
        self._output_file = Path(self._directory.name) / "github_output"

    def select(self, sha: str, paths: Sequence[str], uncertain: Sequence[str]) -> OtherSelection:
        self._output_file.write_bytes(b"")
        stdin = "".join(f"{path}\n" for path in paths).encode("utf-8", "surrogateescape")
        try:
            result = subprocess.run(
                self.argv,
                input=stdin,
                capture_output=True,
                cwd=self.repo,
                env=self._environment(sha),
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as error:
            raise AgainstError(f"--against-command: cannot run {self.argv[0]!r}: {error}") from None
        except subprocess.TimeoutExpired:
            return OtherSelection(set(), error=f"timed out after {self.timeout:g}s")
        if result.returncode != 0:
            last = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return OtherSelection(set(), error=f"exit {result.returncode}: {''.join(last)}")
        text = result.stdout.decode("utf-8", "replace") + "\n" + self._github_output()
        return self._to_lanes(parse_outputs(text))

    def _environment(self, sha: str) -> dict[str, str]:
        return {**os.environ, "GITHUB_OUTPUT": str(self._output_file), "LANES_AUDIT_COMMIT": sha}

    def _github_output(self) -> str:
        try:
            return self._output_file.read_text("utf-8", "replace")
        except OSError:
            return ""

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
