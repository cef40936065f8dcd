"""``lanes audit coverage | history A..B | release A..B``: audits for release managers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

from lanes.audit import gitsource
from lanes.audit.against import Against, AgainstError
from lanes.audit.coverage import FAIL_ON_CONDITIONS as COVERAGE_CONDITIONS
from lanes.audit.coverage import CoverageReport, audit_coverage
from lanes.audit.history import FAIL_ON_CONDITIONS as HISTORY_CONDITIONS
from lanes.audit.history import CommitAudit, HistorySummary, replay
from lanes.audit.release import FAIL_ON_CONDITIONS as RELEASE_CONDITIONS
from lanes.audit.release import ReleaseReport, split_range
from lanes.cli import Parser
from lanes.commands._shared import workspace_from_args
from lanes.git.runner import GitError
from lanes.index import Index
from lanes.workspace import Workspace

HELP = "audit coverage, replay history, report on a release"
FORMATS = ("text", "json", "markdown", "html")
EPILOG = """\
audits:
  coverage        every tracked file -> owner -> lanes: unmatched and ignored files, stale
                  globs, dead lanes, uncovered components, missing references, contracts,
                  the component x lane matrix
  history A..B    replay each first-parent commit through the current lanes.yml and compare
                  with --against-rev REV, --against-config FILE or --against-command CMD
  release A..B    one report for a release: commits, lanes and why, findings, coverage

exit codes: 0 ok, 1 a --fail-on condition holds, 2 usage, configuration or git error
"""
T = TypeVar("T")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "audit",
        help=HELP,
        description=HELP,
        epilog=EPILOG,
    )
    audits = parser.add_subparsers(dest="audit", metavar="AUDIT", required=True)
    output = _output_options()
    comparison = _comparison_options()
    coverage = audits.add_parser(
        "coverage", parents=[common, output], help="whole-tree coverage audit"
    )
    coverage.add_argument("--rev", metavar="REV", help="audit the tree of REV (default: index)")
    _fail_on(coverage, COVERAGE_CONDITIONS)
    history = audits.add_parser(
        "history", parents=[common, output, comparison], help="replay commits A..B"
    )
    history.add_argument("range", metavar="A..B", help="first-parent commits to replay")
    _fail_on(history, HISTORY_CONDITIONS)
    release = audits.add_parser(
        "release", parents=[common, output, comparison], help="one report for a release A..B"
    )
    release.add_argument("range", metavar="A..B", help="the release's commits")
    _fail_on(release, RELEASE_CONDITIONS)


def _output_options() -> argparse.ArgumentParser:
    output = Parser(add_help=False)
    output.add_argument("--format", choices=FORMATS, default="text")
    output.add_argument("--output", metavar="FILE", help="write the report to FILE")
    return output


def _comparison_options() -> argparse.ArgumentParser:
    options = Parser(add_help=False)
    group = options.add_mutually_exclusive_group()
    group.add_argument("--against-rev", metavar="REV", help="lanes.yml as it was at REV")
    group.add_argument("--against-config", metavar="FILE", help="another configuration")
    group.add_argument(
        "--against-command",
        metavar="CMD",
        help="legacy detector: changed paths on stdin, prints name=true|false",
    )
    options.add_argument(
        "--against-map", metavar="MAP", help='output names to lanes: "sdk_changed=sdk,..."'
    )
    options.add_argument(
        "--against-timeout", metavar="S", type=float, default=60.0, help="per commit (60)"
    )
    return options


def _fail_on(parser: argparse.ArgumentParser, allowed: tuple[str, ...]) -> None:
    def conditions(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in chosen if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown condition(s) {', '.join(unknown)}; expected {','.join(allowed)}"
            )
        return chosen

    parser.add_argument(
        "--fail-on",
        metavar=",".join(allowed),
        type=conditions,
        default=[],
        help="exit 1 when any of these conditions holds",
    )


def run(args: argparse.Namespace) -> int:
    from lanes.cli import UsageError

    runners: dict[str, Callable[[argparse.Namespace], dict[str, bool]]] = {
        "coverage": _run_coverage,
        "history": _run_history,
        "release": _run_release,
    }
    try:
        conditions = runners[args.audit](args)
    except (gitsource.GitReadError, AgainstError) as error:
        raise UsageError(str(error)) from None
    except GitError as error:
        raise UsageError(f"git: {error}") from None
    return _exit_code(conditions, args.fail_on)


def _exit_code(conditions: dict[str, bool], fail_on: list[str]) -> int:
    met = [name for name in fail_on if conditions.get(name)]
    if met:
        print(f"lanes audit: failing on: {', '.join(met)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- coverage


def _run_coverage(args: argparse.Namespace) -> dict[str, bool]:
    workspace = workspace_from_args(args)
    report = _coverage(workspace, args.rev)
    with _output(args.output) as out:
        _render_coverage(report, workspace.index, args.format, out)
    return report.conditions()


def _coverage(workspace: Workspace, rev: str | None) -> CoverageReport:
    files = gitsource.tracked_files(workspace.repo, rev)
    return audit_coverage(files, workspace, revision=rev)


def _render_coverage(report: CoverageReport, index: Index, fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        from lanes.audit import render_json

        render_json.write_coverage(report, out)
    elif fmt == "markdown":
        import lanes.audit.render_markdown as render_markdown

        out.write(render_markdown.coverage(report))
    elif fmt == "html":
        import lanes.audit.render_html as render_html

        out.write(render_html.coverage(report, index))
    else:
        import lanes.audit.render_text as render_text

        render_text.coverage(report, out)


# --------------------------------------------------------------------------- history


def _run_history(args: argparse.Namespace) -> dict[str, bool]:
    workspace = workspace_from_args(args)
    _check_range(args.range)
    against = _against(args, workspace)
    summary = HistorySummary(args.range, against.description if against else None)
    try:
        commits = _replay(workspace, args.range, against, summary)
        with _output(args.output) as out:
            _render_history(commits, summary, args.format, out)
    finally:
        if against is not None:
            against.close()
    return summary.conditions()


def _render_history(
    commits: Iterable[CommitAudit], summary: HistorySummary, fmt: str, out: IO[str]
) -> None:
    if fmt == "json":
        from lanes.audit import render_json

        render_json.write_history(commits, summary, out)
        return
    audited = list(commits)
    if fmt == "markdown":
        import lanes.audit.render_markdown as render_markdown

        out.write(render_markdown.history(audited, summary))
    elif fmt == "html":
        import lanes.audit.render_html as render_html

        out.write(render_html.history(audited, summary))
    else:
        import lanes.audit.render_text as render_text

        render_text.history(audited, summary, out)


def _check_range(rev_range: str) -> tuple[str, str]:
    from lanes.cli import UsageError

    try:
        gitsource.check_rev(rev_range)
        return split_range(rev_range)
    except (ValueError, gitsource.GitReadError) as error:
        raise UsageError(str(error)) from None


def _replay(
    workspace: Workspace, rev_range: str, against: Against | None, summary: HistorySummary
) -> Iterator[CommitAudit]:
    from lanes.git.commits import iter_first_parent_changes

    commits = iter_first_parent_changes(workspace.repo, rev_range)
    subjects = gitsource.iter_subjects(workspace.repo, rev_range)
    audits = replay(commits, subjects, workspace, against, summary)
    return _with_progress(audits, lambda: gitsource.commit_count(workspace.repo, rev_range))


def _with_progress(items: Iterator[T], total: Callable[[], int]) -> Iterator[T]:
    """A rich progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("replaying commits", total=total())
        for item in items:
            yield item
            progress.advance(task)


def _against(args: argparse.Namespace, workspace: Workspace) -> Against | None:
    from lanes.audit import against
    from lanes.cli import UsageError

    lanes = list(workspace.config.lanes)
    if args.against_map and not args.against_command:
        raise UsageError("--against-map needs --against-command")
    if args.against_command:
        mapping = against.parse_map(args.against_map, lanes) if args.against_map else None
        return against.CommandAgainst(
            args.against_command, workspace.repo, lanes, mapping, timeout=args.against_timeout
        )
    if args.against_config:
        return against.against_config(
            workspace.repo, Path(args.against_config), use_cache=not args.no_cache
        )
    if args.against_rev:
        return against.against_rev(
            workspace.repo,
            args.against_rev,
            _config_in_repo(args, workspace.repo),
            use_cache=not args.no_cache,
        )
    return None


def _config_in_repo(args: argparse.Namespace, repo: Path) -> str:
    """The configuration's repository-relative path (``lanes.yml`` when it lives elsewhere)."""
    if not args.config:
        return "lanes.yml"
    try:
        return Path(args.config).resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return "lanes.yml"


# --------------------------------------------------------------------------- release


def _run_release(args: argparse.Namespace) -> dict[str, bool]:
    workspace = workspace_from_args(args)
    _, head = _check_range(args.range)
    against = _against(args, workspace)
    summary = HistorySummary(args.range, against.description if against else None)
    try:
        commits = list(_replay(workspace, args.range, against, summary))
    finally:
        if against is not None:
            against.close()
    coverage = _coverage(workspace, head)
    report = ReleaseReport(args.range, head, commits, summary, coverage, workspace.index)
    with _output(args.output) as out:
        _render_release(report, args.format, out)
    return report.conditions()


def _render_release(report: ReleaseReport, fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        from lanes.audit import render_json

        out.write(render_json.dumps(report.to_json()) + "\n")
    elif fmt == "markdown":
        import lanes.audit.render_markdown as render_markdown

        out.write(render_markdown.release(report))
    elif fmt == "html":
        import lanes.audit.render_html as render_html

        out.write(render_html.release(report))
    else:
        import lanes.audit.render_text as render_text

        render_text.release(report, out)


# --------------------------------------------------------------------------- output


@contextmanager
def _output(target: str | None) -> Iterator[IO[str]]:
    """``--output FILE`` or stdout; odd bytes in paths never make writing fail."""
    if target is None:
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(errors="backslashreplace")
        yield sys.stdout
        sys.stdout.flush()
        return
    from lanes.cli import UsageError

    try:
        handle = open(target, "w", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    except OSError as error:
        raise UsageError(f"--output {target}: {error.strerror or error}") from None
    with handle:
        yield handle
