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
from lanes.audit.configs import WorkspaceAt
from lanes.audit.coverage import FAIL_ON_CONDITIONS as COVERAGE_CONDITIONS
from lanes.audit.coverage import CoverageReport, audit_coverage
from lanes.audit.history import DEFAULT_FAIL_ON, CommitAudit, HistorySummary, replay
from lanes.audit.history import FAIL_ON_CONDITIONS as HISTORY_CONDITIONS
from lanes.audit.release import FAIL_ON_CONDITIONS as RELEASE_CONDITIONS
from lanes.audit.release import ReleaseReport, split_range
from lanes.cli import Parser
from lanes.commands._shared import workspace_from_args
from lanes.git.parse import RawEntry
from lanes.git.runner import GitError
from lanes.index import Index
from lanes.model import ChangeSet
from lanes.render import shown as printable
from lanes.workspace import Workspace

HELP = "audit coverage, replay history, report on a release"
FORMATS = ("text", "json", "markdown", "html")
_EXIT_CODES = """\
exit codes: 0 ok, 1 a --fail-on condition holds (against-errors always, unless
--allow-against-errors), 2 usage, configuration or git error
"""
EPILOG = (
    """\
audits:
  coverage        every tracked file -> owner -> lanes: unmatched and ignored files, stale
                  globs, dead lanes, uncovered components, missing references, contracts,
                  the component x lane matrix
  history A..B    replay each first-parent commit (--all-commits: every commit) through the
                  graph and lanes.yml at that commit (--fixed-graph, --fixed-config: the
                  checked-out ones) and compare
                  with --against-rev REV, --against-config FILE or --against-command CMD,
                  commit by commit and per owner component (latent gaps)
  release A..B    one report for a release: commits, lanes and why, findings, coverage

"""
    + _EXIT_CODES
)
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
        "coverage",
        parents=[common, output],
        help="whole-tree coverage audit",
        description="whole-tree coverage audit: every tracked file -> owner -> lanes",
        epilog=_EXIT_CODES,
    )
    coverage.add_argument(
        "--rev",
        metavar="REV",
        help="audit the tree of REV under REV's own lanes.yml and manifests (default: the index"
        " and the work tree's)",
    )
    _fail_on(coverage, COVERAGE_CONDITIONS)
    history = audits.add_parser(
        "history",
        parents=[common, output, comparison],
        help="replay commits A..B",
        description="replay commits A..B through the rules at each commit, and compare",
        epilog=_EXIT_CODES,
    )
    history.add_argument(
        "range", metavar="A..B", help="commits to replay (first parents unless --all-commits)"
    )
    _fail_on(history, HISTORY_CONDITIONS)
    release = audits.add_parser(
        "release",
        parents=[common, output, comparison],
        help="one report for a release A..B",
        description="one report for a release A..B: commits, lanes and why, findings, coverage",
        epilog=_EXIT_CODES,
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
    options.add_argument(
        "--all-commits",
        action="store_true",
        help="replay every commit of the range, the merged branches' too (default: first parents)",
    )
    options.add_argument(
        "--fixed-config",
        action="store_true",
        help="judge every commit with the checked-out lanes.yml (default: the one at the commit)",
    )
    options.add_argument(
        "--fixed-graph",
        action="store_true",
        help="judge every commit with the checked-out manifests' dependency graph "
        "(default: the graph at the commit)",
    )
    options.add_argument(
        "--no-attribution",
        action="store_true",
        help="compare whole commits only (no per-component questions, no latent gaps)",
    )
    options.add_argument(
        "--allow-against-errors",
        action="store_true",
        help="do not fail when the comparison failed on some commit (it fails by default)",
    )
    return options


def _fail_on(parser: argparse.ArgumentParser, allowed: tuple[str, ...]) -> None:
    def conditions(text: str) -> list[str]:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in chosen if name not in allowed]
        if unknown:
            from lanes.suggest import did_you_mean

            hint = did_you_mean(unknown[0], allowed) if len(unknown) == 1 else ""
            raise argparse.ArgumentTypeError(
                f"unknown condition(s) {', '.join(unknown)}{hint}; expected {','.join(allowed)}"
            )
        return chosen

    parser.add_argument(
        "--fail-on",
        metavar=",".join(allowed),
        type=conditions,
        default=[],
        help="exit 1 when any of these conditions holds"
        + (
            " (missed, graph-missed, latent and extra need --against-rev, --against-config "
            "or --against-command)"
            if "missed" in allowed
            else ""
        ),
    )


def run(args: argparse.Namespace) -> int:
    from lanes.cli import UsageError

    runners: dict[str, Callable[[argparse.Namespace], dict[str, bool]]] = {
        "coverage": _run_coverage,
        "history": _run_history,
        "release": _run_release,
    }
    _check_fail_on(args)
    try:
        conditions = runners[args.audit](args)
    except (gitsource.GitReadError, AgainstError) as error:
        raise UsageError(str(error)) from None
    except GitError as error:
        raise UsageError(f"git: {error}") from None
    return _exit_code(conditions, _fail_on_conditions(args))


COMPARISON_CONDITIONS = ("missed", "graph-missed", "latent", "extra")


def _compared(args: argparse.Namespace) -> bool:
    return bool(args.against_rev or args.against_config or args.against_command)


def _check_fail_on(args: argparse.Namespace) -> None:
    """A comparison condition without a comparison could never hold: a usage error, not a
    gate that silently passes."""
    from lanes.cli import UsageError

    if args.audit == "coverage" or _compared(args):
        return
    needs = [name for name in args.fail_on if name in COMPARISON_CONDITIONS]
    if needs:
        raise UsageError(
            f"--fail-on {','.join(needs)} needs a comparison: "
            "--against-rev REV, --against-config FILE or --against-command CMD"
        )


def _fail_on_conditions(args: argparse.Namespace) -> list[str]:
    chosen = list(args.fail_on)
    if args.audit != "coverage" and not args.allow_against_errors:
        chosen += [name for name in DEFAULT_FAIL_ON if name not in chosen]
    return chosen


def _exit_code(conditions: dict[str, bool], fail_on: list[str]) -> int:
    met = [name for name in fail_on if conditions.get(name)]
    if met:
        print(f"lanes audit: failing on: {', '.join(met)}", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------- coverage


def _run_coverage(args: argparse.Namespace) -> dict[str, bool]:
    workspace = workspace_from_args(args)
    if args.rev is None:
        files = gitsource.tracked_files(workspace.repo)
        report, index = audit_coverage(files, workspace), workspace.index
    else:
        report, index = _coverage_at(args, workspace, args.rev)
    with _output(args.output) as out:
        _render_coverage(report, index, args.format, out)
    return report.conditions()


def _coverage_at(
    args: argparse.Namespace, workspace: Workspace, rev: str
) -> tuple[CoverageReport, Index]:
    """The coverage of ``rev``'s tree under ``rev``'s own configuration and graph (its
    ``lanes.yml`` and manifests, as a release audit reads the tree at ``B``), and that index."""
    from lanes.audit.tree_at import workspace_at

    config_path = _config_in_repo(args, workspace.repo)
    explicit = Path(args.config).resolve() if args.config and config_path is None else None
    with workspace_at(workspace.repo, rev, config_path, explicit) as at_rev:
        files = gitsource.tracked_files(workspace.repo, rev)
        return audit_coverage(files, at_rev, revision=rev), at_rev.index


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
    try:
        summary, commits = _replay(args, workspace, against)
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
    args: argparse.Namespace, workspace: Workspace, against: Against | None
) -> tuple[HistorySummary, Iterator[CommitAudit]]:
    """The summary (filled in as the audits stream) and the audits of ``args.range``."""
    from lanes.git.commits import commit_list, iter_raw_changes

    repo, rev_range, first_parent = workspace.repo, args.range, not args.all_commits
    summary = HistorySummary(rev_range, against.description if against else None)
    summary.walk = "first-parent" if first_parent else "all-commits"
    summary.base, summary.head = _resolved(repo, *split_range(rev_range))
    shas = commit_list(repo, rev_range, first_parent=first_parent)
    if not shas:
        _hint_empty_range(repo, rev_range, summary, first_parent)
    stream = iter_raw_changes(repo, rev_range, first_parent=first_parent)
    judges, commits = _judges(args, workspace, shas, summary, stream)
    audits = replay(
        commits,
        gitsource.iter_subjects(repo, rev_range, first_parent=first_parent),
        judges,
        against,
        summary,
        attribution=not args.no_attribution,
        on_map_check=_warn_never_printed,
    )
    return summary, _with_progress(audits, len(shas))


def _resolved(repo: Path, base: str, head: str) -> tuple[str | None, str | None]:
    from lanes.git.revs import resolve_commit

    return resolve_commit(repo, base), resolve_commit(repo, head)


def _hint_empty_range(
    repo: Path, rev_range: str, summary: HistorySummary, first_parent: bool
) -> None:
    """A reversed range holds no commit: say so, and what the other order holds."""
    from lanes.git.commits import commit_list

    base, head = split_range(rev_range)
    reverse = commit_list(repo, f"{head}..{base}", first_parent=first_parent)
    if reverse:
        note = (
            f"{rev_range} holds no commits, but {head}..{base} holds {len(reverse)}: "
            "the range is A..B with A the older revision (did you mean "
            f"{head}..{base}?)"
        )
    else:
        note = f"{rev_range} holds no commits"
    summary.notes.append(note)
    print(f"lanes audit: {printable(note)}", file=sys.stderr)


def _judges(
    args: argparse.Namespace,
    workspace: Workspace,
    shas: list[str],
    summary: HistorySummary,
    stream: Iterator[tuple[str, ChangeSet, list[RawEntry]]],
) -> tuple[WorkspaceAt, Iterator[tuple[str, ChangeSet]]]:
    """What judges each commit (graph and configuration at the commit unless fixed), and the
    commits to replay."""
    from lanes.audit.configs import ConfigAtCommit, FixedConfig

    config_path = _config_in_repo(args, workspace.repo)
    fixed_config = args.fixed_config or config_path is None
    summary.config_mode = "fixed" if fixed_config else "per-commit"
    summary.graph_mode = "fixed" if args.fixed_graph else "per-commit"
    if not args.fixed_graph:
        from lanes.audit.graph_at import GraphAtCommit

        checked_out = _checked_out_config(args, workspace)
        graphs = GraphAtCommit(
            workspace,
            config_path,
            checked_out,
            fixed_config=fixed_config,
            use_cache=not args.no_cache,
        )
        return graphs, graphs.observe(stream)
    commits = ((sha, change) for sha, change, _ in stream)
    if fixed_config:
        note = None if args.fixed_config else "--config is outside the repository"
        return FixedConfig(workspace, note), commits
    assert config_path is not None
    return ConfigAtCommit(workspace, shas, config_path, use_cache=not args.no_cache), commits


def _checked_out_config(args: argparse.Namespace, workspace: Workspace) -> Path | None:
    """The configuration file the checked-out workspace was loaded from (None: no file)."""
    if not workspace.configured:
        return None
    return Path(args.config).resolve() if args.config else workspace.repo / "lanes.yml"


def _warn_never_printed(names: list[str]) -> None:
    listed = ", ".join(names)
    print(
        f"lanes audit: --against-map names the command has not printed in its first runs: "
        f"{printable(listed)} (misspelt? they can never select a lane)",
        file=sys.stderr,
    )


PROGRESS_LINES = 10
"""Plain progress lines over a whole replay when stderr is not a terminal (CI logs)."""


def _with_progress(items: Iterator[T], total: int) -> Iterator[T]:
    """A rich progress bar on stderr when it is a terminal, else a plain line every tenth of
    the replay (at most every 25 commits) and one at the end."""
    if not sys.stderr.isatty():
        yield from _plain_progress(items, total)
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("replaying commits", total=total)
        for item in items:
            yield item
            progress.advance(task)


def _plain_progress(items: Iterator[T], total: int) -> Iterator[T]:
    import time

    step = max(25, -(-total // PROGRESS_LINES))
    started = time.monotonic()
    done = 0
    for item in items:
        yield item
        done += 1
        if done % step == 0 and done < total:
            print(f"lanes audit: replayed {done}/{total} commits", file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    print(f"lanes audit: replayed {done} commits in {seconds:.1f}s", file=sys.stderr, flush=True)


def _against(args: argparse.Namespace, workspace: Workspace) -> Against | None:
    from lanes.audit import against
    from lanes.cli import UsageError

    lanes = list(workspace.config.lanes)
    if args.against_map and not args.against_command:
        raise UsageError("--against-map needs --against-command")
    if args.against_command:
        mapping = against.parse_map(args.against_map, lanes) if args.against_map else None
        return against.CommandAgainst(
            args.against_command,
            workspace.repo,
            lanes,
            mapping,
            timeout=args.against_timeout,
            use_cache=not args.no_cache,
        )
    if args.against_config:
        return against.against_config(
            workspace.repo, Path(args.against_config), use_cache=not args.no_cache
        )
    if args.against_rev:
        return against.against_rev(
            workspace.repo,
            args.against_rev,
            _config_in_repo(args, workspace.repo) or "lanes.yml",
            use_cache=not args.no_cache,
        )
    return None


def _config_in_repo(args: argparse.Namespace, repo: Path) -> str | None:
    """The configuration's repository-relative path (None when it lives elsewhere)."""
    if not args.config:
        return "lanes.yml"
    try:
        return Path(args.config).resolve().relative_to(repo.resolve()).as_posix()
    except ValueError:
        return None


# --------------------------------------------------------------------------- release


def _run_release(args: argparse.Namespace) -> dict[str, bool]:
    workspace = workspace_from_args(args)
    _, head = _check_range(args.range)
    against = _against(args, workspace)
    try:
        summary, audits = _replay(args, workspace, against)
        commits = list(audits)
    finally:
        if against is not None:
            against.close()
    coverage, at_head = _coverage_at(args, workspace, head)
    report = ReleaseReport(args.range, head, commits, summary, coverage, at_head)
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
