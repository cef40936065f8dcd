"""``lanes explain PATH...``: each lane a path selects with the full chain; why not the rest."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lanes.commands._shared import workspace_from_args
from lanes.engine import PathResolution, resolve_path
from lanes.render import shown
from lanes.workspace import Workspace

HELP = "explain which lanes each path selects and why"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("explain", parents=[common], help=HELP, description=HELP)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="repository-relative paths")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def why_not(lane: str, resolution: PathResolution, workspace: Workspace) -> str:
    """Why ``lane`` is not selected by this path."""
    if resolution.kind == "ignored":
        return f"path is ignored by rule {resolution.rule} and owned by no component"
    if resolution.kind == "unmatched":
        return "path is owned by no component and matches no rule (unmatched: none)"
    spec = workspace.config.lanes[lane]
    roots = ", ".join(spec.roots) or "(none)"
    covered = len(workspace.index.coverage.get(lane, {}))
    if resolution.owner is None:
        return f"path matches none of the lane's paths and has no owner (roots: {roots})"
    return (
        f"owner {resolution.owner.component} is not among the {covered} components lane "
        f"covers from its roots ({roots}), and no lane path matches"
    )


def explain(path: str, workspace: Workspace) -> dict[str, Any]:
    resolution = resolve_path(path, workspace.rules, workspace.index)
    return {
        "path": path,
        "resolution": resolution.kind,
        "owner": None
        if resolution.owner is None
        else {"component": resolution.owner.component, "rule": resolution.owner.rule},
        "selects": {lane: reason.to_json() for lane, reason in resolution.lanes.items()},
        "explanations": {lane: reason.describe() for lane, reason in resolution.lanes.items()},
        "not_selected": {
            lane: why_not(lane, resolution, workspace)
            for lane in workspace.config.lanes
            if lane not in resolution.lanes
        },
    }


def run(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    reports = [explain(path.removeprefix("./"), workspace) for path in args.paths]
    if args.format == "json":
        print(json.dumps(reports, indent=2, ensure_ascii=True))
        return 0
    for report in reports:
        _print_text(report)
    return 0


def _print_text(report: dict[str, Any]) -> None:
    out = sys.stdout
    owner = report["owner"]
    owned = "no owner"
    if owner:
        owned = f"owned by {shown(owner['component'])} ({shown(owner['rule'])})"
    out.write(f"'{shown(report['path'])}': {report['resolution']}, {owned}\n")
    for lane, text in report["explanations"].items():
        out.write(f"  + {shown(lane)}: {shown(text)}\n")
    for lane, text in report["not_selected"].items():
        out.write(f"  - {shown(lane)}: {shown(text)}\n")
