"""Helpers shared by the subcommands: locating the repository and loading the workspace."""

from __future__ import annotations

import argparse
from pathlib import Path

from lanes.workspace import Workspace, load_workspace


def find_repo(start: Path) -> Path:
    """The git top level above ``start`` (a ``.git`` entry), without spawning git."""
    from lanes.cli import UsageError

    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / ".git").exists():
            return candidate
    raise UsageError(f"{start} is not inside a git repository (use --repo DIR)")


def repo_from_args(args: argparse.Namespace) -> Path:
    from lanes.cli import UsageError

    if args.repo is None:
        return find_repo(Path.cwd())
    repo = Path(args.repo)
    if not repo.is_dir():
        raise UsageError(f"--repo {args.repo}: not a directory")
    return repo.resolve()


def workspace_from_args(args: argparse.Namespace) -> Workspace:
    repo = repo_from_args(args)
    config = Path(args.config) if args.config else None
    return load_workspace(repo, config, use_cache=not args.no_cache)


def lane_runs(workspace: Workspace) -> dict[str, str | None]:
    return {name: lane.run for name, lane in workspace.config.lanes.items()}
