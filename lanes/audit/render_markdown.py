"""``--format markdown``: fits a GitHub step summary (under 1 MiB; commits beyond it are
dropped with a note, and :func:`lanes.outputs.markdown.truncate` guards the rest)."""

from __future__ import annotations

from collections.abc import Sequence

from lanes.audit.coverage import CoverageReport
from lanes.audit.history import CommitAudit, HistorySummary
from lanes.audit.labels import (
    CONDITION_TEXT,
    EDGE_LEGEND,
    contract_text,
    edge_symbol,
    listing,
    short_sha,
    uncovered_components,
)
from lanes.audit.release import ReleaseReport
from lanes.outputs.markdown import MAX_SUMMARY_BYTES, escape, truncate

MAX_LIST = 100
MAX_MATRIX_ROWS = 300
RESERVE = 2_000  # bytes kept for the truncation note and the closing sections


def _bullets(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    shown, hidden = listing(items, MAX_LIST)
    lines = [f"### {title} ({len(items)})", ""] + [f"- {escape(item)}" for item in shown]
    if hidden:
        lines.append(f"- … and {hidden} more")
    return [*lines, ""]


def _conditions(conditions: dict[str, bool]) -> list[str]:
    lines = [
        "### Conditions (`--fail-on`)",
        "",
        "| condition | holds | meaning |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {name} | {'**yes**' if holds else 'no'} | {CONDITION_TEXT[name]} |"
        for name, holds in conditions.items()
    ]
    return [*lines, ""]


# --------------------------------------------------------------------------- coverage


def coverage(report: CoverageReport) -> str:
    lines = [f"## Coverage audit: {report.files_total} files", "", *_coverage_sections(report)]
    lines += _matrix(report)
    return truncate("\n".join(lines) + "\n")


def _coverage_sections(report: CoverageReport, *, with_conditions: bool = True) -> list[str]:
    lines = [
        f"Configuration `{escape(report.config_file)}`, {len(report.components)} components, "
        f"{len(report.lanes)} lanes, unmatched policy `{report.unmatched_policy}`.",
        "",
        *(_conditions(report.conditions()) if with_conditions else []),
    ]
    lines += _bullets("Unmatched files", report.unmatched)
    lines += _bullets(
        "Stale globs",
        [f"{rule.pattern} — {rule.key} (line {rule.line})" for rule in report.stale_globs],
    )
    lines += _bullets("Dead lanes", [f"{lane.lane}: {lane.why}" for lane in report.dead_lanes])
    lines += _bullets("Components no lane covers", uncovered_components(report))
    lines += _bullets(
        "Missing references and problems",
        [f"{r.kind} {r.name} ({r.key})" for r in report.missing] + report.problems,
    )
    lines += _bullets("Ignored files", report.ignored)
    lines += _contracts(report)
    return lines


def _contracts(report: CoverageReport) -> list[str]:
    if not report.contracts:
        return []
    lines = ["### Contracts", "", "| result | contract |", "| --- | --- |"]
    for result in report.contracts:
        text = escape(contract_text(result.describe(report.config_file)))
        lines.append(f"| {'ok' if result.ok else '**FAIL**'} | {text} |")
    return [*lines, ""]


def _matrix(report: CoverageReport) -> list[str]:
    lanes = [escape(lane) for lane in report.lanes]
    lines = [
        "### Coverage matrix",
        "",
        "| component | files | " + " | ".join(lanes) + " |",
        "| --- | ---: |" + " :---: |" * len(lanes),
    ]
    shown, hidden = listing(report.components, MAX_MATRIX_ROWS)
    for row in shown:
        cells = [edge_symbol(row.lanes[lane]) if lane in row.lanes else "" for lane in report.lanes]
        name = escape(row.name) if row.covered else f"**{escape(row.name)}** (uncovered)"
        lines.append(f"| {name} | {row.files} | " + " | ".join(cells) + " |")
    if hidden:
        lines.append(f"\n… and {hidden} more components.")
    legend = ", ".join(f"{symbol} {meaning}" for symbol, meaning in EDGE_LEGEND)
    return [*lines, "", f"_{legend}_", ""]


# --------------------------------------------------------------------------- history


def history(commits: Sequence[CommitAudit], summary: HistorySummary) -> str:
    head = [f"## History audit: {escape(summary.rev_range)}", "", *_summary(summary)]
    return _with_commits(head, commits, summary.against is not None, [])


def _summary(summary: HistorySummary) -> list[str]:
    data = summary.to_json()
    against = escape(summary.against) if summary.against else "_no comparison_"
    lines = [
        f"- commits: {summary.commits}; fail-safe: {summary.fail_safe}",
        f"- compared with: {against}",
        f"- under-triggered commits: **{summary.under_triggered}**; "
        f"over-triggered: {summary.over_triggered}",
    ]
    for key in ("missed_by_lane", "extra_by_lane", "selected_by_lane"):
        counts = ", ".join(f"{escape(lane)} {n}" for lane, n in data[key].items()) or "-"
        lines.append(f"- {key.replace('_', ' ')}: {counts}")
    if summary.against_errors:
        lines.append(f"- the comparison failed on {summary.against_errors} commit(s)")
    return [*lines, ""]


def _commit_row(commit: CommitAudit, compared: bool) -> str:
    why = "<br>".join(
        f"{escape(lane)}: {escape(reason.describe())}" for lane, reason in commit.why.items()
    )
    cells = [
        f"`{short_sha(commit.sha)}`",
        escape(commit.subject),
        escape(", ".join(commit.components)) or "-",
        escape(", ".join(commit.selected)) or "-",
        why or "-",
    ]
    if compared:
        missed = "<br>".join(
            f"**{escape(f.lane)}** ← {escape(', '.join(f.paths))}" for f in commit.missed
        )
        cells += [
            escape(commit.against_error or ", ".join(commit.against or [])) or "-",
            missed or "-",
            escape(", ".join(f.lane for f in commit.extra)) or "-",
        ]
    return "| " + " | ".join(cells) + " |"


def _with_commits(
    head: list[str], commits: Sequence[CommitAudit], compared: bool, tail: list[str]
) -> str:
    """The commits table between ``head`` and ``tail``, cut to stay under the 1 MiB limit."""
    columns = ["commit", "subject", "components", "selected", "why"]
    columns += ["against", "missed ← paths", "extra"] if compared else []
    table = [
        f"### Commits ({len(commits)}, newest first)",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + " --- |" * len(columns),
    ]
    fixed = "\n".join([*head, *table, *tail])
    budget = MAX_SUMMARY_BYTES - RESERVE - len(fixed.encode("utf-8"))
    rows: list[str] = []
    for number, commit in enumerate(commits):
        row = _commit_row(commit, compared)
        budget -= len(row.encode("utf-8")) + 1
        if budget < 0:
            rows.append(
                f"\n_(truncated: {len(commits) - number} more commits not shown, "
                "to stay under GitHub's 1 MiB step summary limit)_"
            )
            break
        rows.append(row)
    return truncate("\n".join([*head, *table, *rows, "", *tail]) + "\n")


# --------------------------------------------------------------------------- release


def release(report: ReleaseReport) -> str:
    summary = report.summary
    lanes = escape(", ".join(report.lanes_selected)) or "none"
    head = [
        f"## Release audit: {escape(report.rev_range)}",
        "",
        f"**{summary.commits} commits** ran lanes {lanes}; "
        f"{len(report.changed_components)} components changed: "
        f"{escape(', '.join(report.changed_components)) or 'none'}.",
        "",
        *_summary(summary),
        *_conditions(report.conditions()),
    ]
    tail = [
        "## Coverage at " + escape(report.head),
        "",
        *_coverage_sections(report.coverage, with_conditions=False),
    ]
    tail += _matrix(report.coverage)
    return _with_commits(head, report.commits, summary.against is not None, tail)
