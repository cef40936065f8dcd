"""``lanes detect``: select the lanes for a change and write them in one format."""

from __future__ import annotations

import argparse
import os
import sys
from typing import IO, TYPE_CHECKING, Any

from lanes import pathlist
from lanes.commands._shared import lane_runs, workspace_from_args
from lanes.engine import Reason, Selection, select
from lanes.model import ChangeSet
from lanes.render import shown_all
from lanes.workspace import no_lanes

if TYPE_CHECKING:
    from lanes.workspace import Workspace

HELP = "select the lanes a change must run"
EPILOG = """\
where the change comes from (first that applies):
  --paths-from-stdin / --paths-file F   a list of paths (newline or NUL separated)
  --base REV [--head REV]               git: merge base of REV and HEAD (three-dot) to HEAD;
                                        when manifests, lockfiles or the config changed, the
                                        base revision's graph is compared too
  (neither)                             working tree, index and untracked files against the
                                        merge base with the upstream default branch

formats: text (the default), json, markdown, github (appends to $GITHUB_OUTPUT,
or stdout when unset, and writes a step summary to $GITHUB_STEP_SUMMARY when set)
"""


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "detect",
        parents=[common],
        help=HELP,
        description=HELP,
        epilog=EPILOG,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--paths-from-stdin", action="store_true", help="read changed paths")
    source.add_argument("--paths-file", metavar="F", help="read changed paths from F")
    source.add_argument("--base", metavar="REV", help="base revision (empty or zeros: unknown)")
    parser.add_argument("--head", metavar="REV", default="HEAD", help="head revision (HEAD)")
    parser.add_argument(
        "--two-dot", action="store_true", help="diff base..head instead of the merge base"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown", "github"), default="text")
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="write to FILE instead of stdout (not with github: it writes $GITHUB_OUTPUT)",
    )


def changes(args: argparse.Namespace, workspace: Workspace) -> ChangeSet:
    if args.paths_from_stdin:
        return pathlist.paths_from_stream(sys.stdin.buffer.read())
    if args.paths_file:
        return pathlist.paths_from_stream(_read_paths_file(args.paths_file), method="file")
    if args.base is not None:
        from lanes.git.base import changes_between

        return changes_between(workspace.root, args.base, args.head, merge_base=not args.two_dot)
    from lanes.git.local import local_changes

    return local_changes(workspace.root)


def _read_paths_file(name: str) -> bytes:
    from lanes.cli import UsageError

    try:
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise UsageError(f"--paths-file {name}: {error.strerror or error}") from None


def detect(args: argparse.Namespace) -> tuple[Selection, dict[str, str | None], list[str]]:
    """The selection, each lane's ``run`` and the changed paths."""
    workspace = workspace_from_args(args)
    error = no_lanes(workspace)
    if error is not None:
        raise error
    change = changes(args, workspace)
    basis = dict(change.basis)
    if change.uncertain:
        basis["uncertain"] = change.uncertain
        basis["detail"] = change.detail
    basis["config"] = workspace.config.file
    uncertain = [change.uncertain] if change.uncertain else []
    comparison = None
    if args.base is not None:
        from lanes.commands._compare import comparison_for

        comparison = comparison_for(workspace, change, args.config or None)
        basis["graphs"] = "base and head" if comparison is not None else "head"
    selection = select(
        change.paths,
        workspace.rules,
        workspace.index,
        uncertain=uncertain,
        basis=basis,
        comparison=comparison,
    )
    return _with_unmatched_reasons(selection), lane_runs(workspace), change.paths


def _with_unmatched_reasons(selection: Selection, limit: int = 20) -> Selection:
    """Under ``unmatched: error`` every lane is selected because of the unmatched paths: say so
    in each lane's reasons (code ``unmatched-error``) instead of leaving them empty."""
    if not selection.unmatched_error:
        return selection
    reasons = {
        lane: [*found, *(Reason("unmatched-error", path) for path in selection.unmatched[:limit])]
        for lane, found in selection.reasons.items()
    }
    return selection._replace(reasons=reasons)


def run(args: argparse.Namespace) -> int:
    from lanes.cli import UsageError

    if args.format == "github" and args.output:
        raise UsageError(
            "--output cannot be used with --format github, which appends to $GITHUB_OUTPUT "
            "(stdout when unset): set GITHUB_OUTPUT=FILE instead"
        )
    selection, runs, paths = detect(args)
    if args.format == "github":
        _write_github(selection, runs, paths)
    elif args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            render(args.format, selection, runs, handle, paths)
    else:
        render(args.format, selection, runs, sys.stdout, paths)
    if selection.unmatched_error:
        listed = shown_all(selection.unmatched[:10])
        more = f" (+{len(selection.unmatched) - 10} more)" if len(selection.unmatched) > 10 else ""
        print(
            f"lanes: {len(selection.unmatched)} path(s) match no component and no rule "
            f"(unmatched: error): {listed}{more}",
            file=sys.stderr,
        )
        return 1
    return 0


def render(
    fmt: str,
    selection: Selection,
    runs: dict[str, str | None],
    stream: IO[str],
    paths: list[str] | None = None,
) -> None:
    if fmt == "json":
        from lanes.outputs import json_

        stream.write(json_.render(selection, runs, paths) + "\n")
    elif fmt == "markdown":
        from lanes.outputs import markdown

        stream.write(markdown.render(selection, paths))
    else:
        from lanes.outputs import text

        text.render(selection, stream, paths)


def _write_github(
    selection: Selection, runs: dict[str, str | None], paths: list[str] | None = None
) -> None:
    from lanes.outputs import github, markdown

    _append(os.environ.get("GITHUB_OUTPUT"), github.render(selection, runs))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(summary, markdown.render(selection, paths))


def _append(target: str | None, text: str) -> None:
    if not target:
        sys.stdout.write(text)
        return
    with open(target, "a", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)
