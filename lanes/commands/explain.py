"""``lanes explain PATH...``: each lane a path selects with the full chain; why not the rest."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from lanes.commands._shared import workspace_from_args
from lanes.engine import PathResolution, resolve_path
from lanes.render import shown
from lanes.workspace import Workspace

if TYPE_CHECKING:
    from lanes.graphdiff import Comparison

HELP = "explain which lanes each path selects and why"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("explain", parents=[common], help=HELP, description=HELP)
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files or directories: absolute, relative to the current directory, or "
        "repository-relative",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--base",
        metavar="REV",
        help="also resolve against the graph of the merge base of REV and HEAD, with the "
        "manifest and lockfile diffs of that change (as lanes detect --base does)",
    )


def why_not(lane: str, resolution: PathResolution, workspace: Workspace) -> str:
    """Why ``lane`` is not selected by this path."""
    if resolution.kind == "ignored":
        return f"path is ignored by rule {resolution.rule} and owned by no component"
    if resolution.kind == "unmatched":
        return "path is owned by no component and matches no rule (unmatched: none)"
    if resolution.rule == "refined":
        return (
            "the change to this file was diffed against the base: it alters no component "
            "this lane builds"
        )
    spec = workspace.config.lanes[lane]
    if not spec.roots:
        return f"lane {lane} has no roots and none of its paths matches"
    roots = ", ".join(spec.roots)
    covered = len(workspace.index.coverage.get(lane, {}))
    if resolution.owner is None:
        return f"path matches none of the lane's paths and has no owner (roots: {roots})"
    return (
        f"owner {resolution.owner.component} is not among the {covered} components lane "
        f"{lane} covers from its roots ({roots}), and no lane path matches"
    )


def repo_path(argument: str, root: str, cwd: str) -> str:
    """``argument`` as a repository-relative POSIX path (a directory ends with ``/``).

    Absolute paths and, inside the repository, paths relative to the current directory are
    what a shell completes; a path that only exists relative to the repository root is taken
    from there (what ``lanes explain`` always accepted)."""
    from lanes.cli import UsageError

    root = os.path.realpath(root)
    if os.path.isabs(argument):
        candidate = argument
    elif _inside(os.path.realpath(cwd), root):
        candidate = os.path.join(cwd, argument)
        from_root = os.path.join(root, argument)
        if not os.path.lexists(candidate) and os.path.lexists(from_root):
            candidate = from_root
    else:
        candidate = os.path.join(root, argument)
    absolute = os.path.normpath(candidate)
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    if not _inside(real, root):
        raise UsageError(f"{argument}: outside the repository {root}")
    relative = os.path.relpath(real, root).replace(os.sep, "/")
    if relative == ".":
        raise UsageError(f"{argument}: the repository root; name a file or directory inside it")
    if os.path.isdir(real) or argument.endswith(("/", os.sep)):
        relative += "/"
    return relative


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _suggestion(argument: str, path: str, workspace: Workspace) -> str | None:
    """For a path that does not exist: the closest name in its directory, or lane/component."""
    import difflib

    directory, _, name = path.rstrip("/").rpartition("/")
    try:
        entries = os.listdir(os.path.join(workspace.root, directory))
    except OSError:
        entries = []
    names = [*workspace.config.lanes, *workspace.index.kinds] if "/" not in argument else []
    close = difflib.get_close_matches(name, [*entries, *names], n=1, cutoff=0.6)
    if not close:
        return None
    if close[0] in entries and directory:
        return f"{directory}/{close[0]}"
    return close[0]


def explain(
    path: str,
    workspace: Workspace,
    given: str | None = None,
    comparison: Comparison | None = None,
) -> dict[str, Any]:
    directory = path.endswith("/")
    resolution = resolve_path(
        path, workspace.rules, workspace.index, directory=directory, comparison=comparison
    )
    report: dict[str, Any] = {
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
    failsafe = _failsafe_codes(workspace, comparison)
    if failsafe:
        report["failsafe"] = failsafe
    if given is not None and given != path:
        report["given"] = given
    if not os.path.lexists(os.path.join(workspace.root, path)):
        report["exists"] = False
        suggestion = _suggestion(given or path, path, workspace)
        if suggestion is not None:
            report["did_you_mean"] = suggestion
    return report


def _failsafe_codes(workspace: Workspace, comparison: Comparison | None) -> list[str]:
    """The reason codes that make ``lanes detect`` select every lane whatever the path (a
    discovery problem of the graph, ``unlocked-dependencies`` ...; with ``--base``, the base
    graph's and the change's own)."""
    found = list(workspace.index.problems)
    if comparison is not None:
        found += [code for code in comparison.failsafe if code not in found]
    return found


def _comparison(args: argparse.Namespace, workspace: Workspace) -> tuple[Comparison | None, str]:
    """The comparison with ``--base`` (None without one, or when the graphs cannot differ)
    and what the reports say about it."""
    if args.base is None:
        return None, ""
    from lanes.commands._compare import comparison_for
    from lanes.git.base import changes_between

    change = changes_between(workspace.repo, args.base, "HEAD")
    if change.uncertain:
        return None, f"head only ({change.uncertain}: {change.detail})"
    comparison = comparison_for(workspace, change, args.config or None)
    return comparison, "base and head" if comparison is not None else "head"


def run(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    cwd = os.getcwd()
    comparison, graphs = _comparison(args, workspace)
    reports = [
        explain(repo_path(given, workspace.root, cwd), workspace, given, comparison)
        for given in args.paths
    ]
    if graphs:
        for report in reports:
            report["graphs"] = graphs
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
    missing = ""
    if report.get("exists") is False:
        hint = report.get("did_you_mean")
        missing = " (no such file" + (f"; did you mean {shown(hint)}?)" if hint else ")")
    graphs = f" [graphs: {shown(report['graphs'])}]" if "graphs" in report else ""
    out.write(f"{shown(report['path'])}: {report['resolution']}, {owned}{missing}{graphs}\n")
    if report.get("failsafe"):
        codes = ", ".join(shown(code) for code in report["failsafe"])
        out.write(f"  ! fail-safe: lanes detect selects every lane ({codes})\n")
    for lane, text in report["explanations"].items():
        out.write(f"  + {shown(lane)}: {shown(text)}\n")
    for lane, text in report["not_selected"].items():
        out.write(f"  - {shown(lane)}: {shown(text)}\n")
