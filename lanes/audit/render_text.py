"""``--format text``: rich tables for a terminal (plain text when written to a file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from lanes.audit.attribution import latent_text
from lanes.audit.coverage import CoverageReport
from lanes.audit.history import CommitAudit, HistorySummary
from lanes.audit.labels import (
    CONDITION_TEXT,
    contract_text,
    edge_symbol,
    failsafe_text,
    graph_label,
    lanes_text,
    listing,
    range_title,
    short_sha,
    uncovered_components,
)
from lanes.audit.release import ReleaseReport
from lanes.render import shown as printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

MAX_ROWS = 200
PLAIN_WIDTH = 200


def _console(stream: IO[str]) -> Console:
    from rich.console import Console

    terminal = stream.isatty()
    return Console(file=stream, highlight=False, width=None if terminal else PLAIN_WIDTH)


def _text(value: str) -> Text:
    from rich.text import Text

    return Text(printable(value))


def _table(title: str, *columns: str | Text) -> Table:
    """A table titled ``title`` (fixed text: rich reads it as markup); repository-derived
    column names must come as :func:`_text` (a plain ``str`` would be read as markup too)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    return table


def _print_list(console: Console, title: str, items: Sequence[str], column: str = "path") -> None:
    if not items:
        return
    shown, hidden = listing(items, MAX_ROWS)
    table = _table(f"{title} ({len(items)})", column)
    for item in shown:
        table.add_row(_text(item))
    if hidden:
        table.add_row(_text(f"... and {hidden} more"))
    console.print(table)


def _print_conditions(console: Console, conditions: dict[str, bool]) -> None:
    table = _table("Conditions (--fail-on)", "condition", "holds", "meaning")
    for name, holds in conditions.items():
        table.add_row(name, "[red]yes[/]" if holds else "[green]no[/]", CONDITION_TEXT[name])
    console.print(table)


# --------------------------------------------------------------------------- coverage


def coverage(report: CoverageReport, stream: IO[str]) -> None:
    console = _console(stream)
    where = f" at {report.revision}" if report.revision else ""
    console.print(
        _text(
            f"Coverage of {report.files_total} files{where} under {report.config_file}: "
            f"{len(report.components)} components, {len(report.lanes)} lanes"
        )
    )
    _print_coverage_findings(console, report)
    _print_matrix(console, report)
    _print_conditions(console, report.conditions())


def _print_coverage_findings(console: Console, report: CoverageReport) -> None:
    _print_list(console, f"Unmatched files (policy: {report.unmatched_policy})", report.unmatched)
    _print_list(console, "Ignored files", report.ignored)
    if report.stale_globs:
        table = _table(f"Stale globs ({len(report.stale_globs)})", "glob", "listed under")
        for rule in report.stale_globs:
            table.add_row(_text(rule.pattern), _text(f"{rule.key} (line {rule.line})"))
        console.print(table)
    if report.dead_lanes:
        table = _table(f"Dead lanes ({len(report.dead_lanes)})", "lane", "why")
        for lane in report.dead_lanes:
            table.add_row(_text(lane.lane), _text(lane.why))
        console.print(table)
    _print_list(console, "Components no lane covers", uncovered_components(report), "component")
    if report.missing or report.problems:
        table = _table("Missing references and problems", "what", "where")
        for reference in report.missing:
            table.add_row(_text(f"{reference.kind} {reference.name}"), _text(reference.key))
        for problem in report.problems:
            table.add_row(_text(problem), "index")
        console.print(table)
    _print_contracts(console, report)


def _print_contracts(console: Console, report: CoverageReport) -> None:
    if not report.contracts:
        return
    table = _table("Contracts", "result", "contract")
    for result in report.contracts:
        status = "[green]ok[/]" if result.ok else "[red]FAIL[/]"
        table.add_row(status, _text(contract_text(result.describe(report.config_file))))
    console.print(table)


def _print_matrix(console: Console, report: CoverageReport) -> None:
    shown, hidden = listing(report.components, MAX_ROWS)
    table = _table("Coverage matrix", "component", "files", *map(_text, report.lanes))
    for row in shown:
        cells = [edge_symbol(row.lanes[lane]) if lane in row.lanes else "" for lane in report.lanes]
        name = _text(row.name)
        if not row.covered:
            name.stylize("red")
        table.add_row(name, str(row.files), *cells)
    if hidden:
        table.add_row(_text(f"... and {hidden} more components"), "")
    console.print(table)
    console.print("R root, ● normal, B build, D dev, O optional, P lane paths")


# --------------------------------------------------------------------------- history


def history(commits: Sequence[CommitAudit], summary: HistorySummary, stream: IO[str]) -> None:
    console = _console(stream)
    console.print(_text(f"History audit {_title(summary)}"))
    _print_latent(console, summary)
    _print_commits(console, commits, summary.against is not None)
    _print_summary(console, summary)


def _title(summary: HistorySummary) -> str:
    where = range_title(summary.rev_range, summary.base, summary.head)
    modes = f"config {summary.config_mode}, graph {summary.graph_mode}"
    return f"{where}: {summary.commits} commits ({summary.walk}, {modes})"


def _print_latent(console: Console, summary: HistorySummary) -> None:
    """Latent gaps per component and lane, first: what the commit-level view hides."""
    gaps = summary.latent_gaps
    if not gaps:
        return
    table = _table(
        f"Latent gaps ({len(gaps)}): the component's own paths never select the lane",
        "component",
        "lane",
        "commits",
        "hidden",
        "first",
        "last",
        "example path",
    )
    shown, hidden = listing(gaps, MAX_ROWS)
    for gap in shown:
        cells = [gap.component, gap.lane, str(gap.commits), str(gap.hidden)]
        cells += [short_sha(gap.first), short_sha(gap.last), gap.example]
        table.add_row(*map(_text, cells))
    if hidden:
        table.add_row(_text(f"... and {hidden} more"))
    console.print(table)


def _print_commits(console: Console, commits: Sequence[CommitAudit], compared: bool) -> None:
    columns = ["commit", "graph", "subject", "components", "selected"]
    if compared:
        columns += ["against", "missed (graph)", "missed (policy)", "hidden latent", "extra"]
    table = _table(f"Commits ({len(commits)}, newest first)", *columns)
    shown, hidden = listing(commits, MAX_ROWS)
    for commit in shown:
        selected = lanes_text(commit.selected)
        if commit.mode == "fail-safe":
            selected += " (fail-safe)"
        graph = graph_label(commit.graph, commit.graph_id)
        row = [short_sha(commit.sha), graph, commit.subject, lanes_text(commit.components)]
        row.append(selected)
        if compared:
            row += [
                _against(commit),
                lanes_text([f.lane for f in commit.graph_missed], none=""),
                lanes_text([f.lane for f in commit.policy_missed], none=""),
                latent_text(commit.latent),
                lanes_text([f.lane for f in commit.extra], none=""),
            ]
        table.add_row(*map(_text, row))
    if hidden:
        table.add_row(_text(f"... and {hidden} more"))
    console.print(table)
    _print_failsafe(console, commits)
    if compared:
        _print_findings(console, commits)


def _print_failsafe(console: Console, commits: Sequence[CommitAudit]) -> None:
    """One row per fail-safe code of a commit, with the paths (or git's message) behind it."""
    from rich.table import Table

    table = Table(title="Fail-safe commits (every lane selected)", title_justify="left")
    for column in ("commit", "code"):
        table.add_column(column)
    table.add_column("behind it", no_wrap=True)
    for commit in commits:
        for code in commit.failsafe:
            behind = failsafe_text([code], commit.failsafe_paths).removeprefix(code).strip()
            table.add_row(*map(_text, (short_sha(commit.sha), code, behind.strip("()") or "-")))
    if table.row_count:
        console.print(table)


def _against(commit: CommitAudit) -> str:
    errors = [commit.against_error] if commit.against_error else []
    errors += commit.attribution_errors
    if errors:
        return "ERROR: " + "; ".join(errors)
    return lanes_text(commit.against)


def _print_findings(console: Console, commits: Sequence[CommitAudit]) -> None:
    """One row per missed or extra lane: its kind, the paths responsible, our explanation."""
    from rich.table import Table

    table = Table(
        title="Findings (missed: under-trigger, graph or policy; extra: over-trigger)",
        title_justify="left",
    )
    for column in ("commit", "finding", "lane"):
        table.add_column(column)
    table.add_column("paths responsible", no_wrap=True)
    table.add_column("why we select it")
    rows = 0
    for commit in commits:
        findings = [(f"missed ({f.kind})", f) for f in commit.missed]
        findings += [("extra", f) for f in commit.extra]
        for kind, finding in findings:
            reason = commit.why.get(finding.lane)
            why = reason.describe() if reason is not None else "-"
            cells = [short_sha(commit.sha), kind, finding.lane, "\n".join(finding.paths), why]
            table.add_row(*map(_text, cells))
            rows += 1
    if rows:
        console.print(table)


def _print_summary(console: Console, summary: HistorySummary) -> None:
    table = _table("Summary", "measure", "value")
    compared = summary.against is not None
    rows = [
        ("range", range_title(summary.rev_range, summary.base, summary.head)),
        ("compared with", summary.against or "no comparison"),
        ("commits", str(summary.commits)),
        ("fail-safe commits", str(summary.fail_safe)),
    ]
    if summary.failsafe_codes:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(summary.failsafe_codes.items()))
        rows.append(("fail-safe codes", codes))
    if compared:
        rows += [
            ("under-triggered commits", str(summary.under_triggered)),
            ("  with a graph miss", str(summary.graph_under_triggered)),
            ("  policy misses only", str(summary.policy_under_triggered)),
            ("latent gaps", str(len(summary.latent))),
            ("over-triggered commits", str(summary.over_triggered)),
            ("comparison errors", str(summary.against_errors)),
        ]
    data = summary.to_json()
    for key in ("graph_missed_by_lane", "missed_by_lane", "extra_by_lane", "selected_by_lane"):
        if compared or key == "selected_by_lane":
            counts = ", ".join(f"{lane} {n}" for lane, n in data[key].items()) or "-"
            rows.append((key.replace("_", " "), counts))
    if summary.unmapped:
        rows.append(("unmapped outputs", ", ".join(sorted(summary.unmapped))))
    if summary.map_never_printed:
        rows.append(("--against-map names never printed", ", ".join(summary.map_never_printed)))
    rows += [("note", note) for note in summary.notes]
    for name, value in rows:
        table.add_row(_text(name), _text(value))
    console.print(table)


# --------------------------------------------------------------------------- release


def release(report: ReleaseReport, stream: IO[str]) -> None:
    console = _console(stream)
    summary = report.summary
    ran = lanes_text(report.lanes_selected, none="none")
    changed = lanes_text(report.changed_components, none="none")
    where = range_title(report.rev_range, summary.base, summary.head)
    console.print(
        _text(
            f"Release {where}: {summary.commits} commits, lanes run: {ran}; "
            f"components changed: {changed}"
        )
    )
    _print_latent(console, summary)
    _print_commits(console, report.commits, summary.against is not None)
    _print_summary(console, summary)
    console.print(_text(f"Coverage at {report.head} ({short_sha(summary.head or '?')})"))
    _print_coverage_findings(console, report.coverage)
    _print_conditions(console, report.conditions())
