"""Helpers shared by the subcommands: locating the repository and loading the workspace."""

from __future__ import annotations

import argparse
import os

from lanes.model import StrPath
from lanes.workspace import Workspace, load_workspace


def find_repo(start: StrPath) -> str:
    """The git top level above ``start`` (a ``.git`` entry), without spawning git."""
    from lanes.cli import UsageError

    current = os.path.realpath(start)
    while not os.path.exists(os.path.join(current, ".git")):
        parent = os.path.dirname(current)
        if parent == current:
            raise UsageError(f"{os.fspath(start)} is not inside a git repository (use --repo DIR)")
        current = parent
    return current


def repo_from_args(args: argparse.Namespace) -> str:
    from lanes.cli import UsageError

    if args.repo is None:
        return find_repo(os.getcwd())
    if not os.path.isdir(args.repo):
        raise UsageError(f"--repo {args.repo}: not a directory")
    return os.path.realpath(str(args.repo))


def workspace_from_args(args: argparse.Namespace) -> Workspace:
    repo = repo_from_args(args)
    return load_workspace(repo, args.config or None, use_cache=not args.no_cache)


def lane_runs(workspace: Workspace) -> dict[str, str | None]:
    return {name: lane.run for name, lane in workspace.config.lanes.items()}
