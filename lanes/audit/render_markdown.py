"""``--format markdown``: fits a GitHub step summary (under 1 MiB; commits beyond it are
dropped with a note, and :func:`lanes.outputs.markdown.truncate` guards the rest)."""

from __future__ import annotations

from collections.abc import Sequence

from lanes.audit.attribution import latent_text
from lanes.audit.coverage import CoverageReport
from lanes.audit.history import CommitAudit, Finding, HistorySummary
from lanes.audit.labels import (
    CONDITION_TEXT,
    EDGE_LEGEND,
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
    where = escape(range_title(summary.rev_range, summary.base, summary.head))
    head = [f"## History audit: {where}", "", *_summary(summary), *_latent(summary)]
    return _with_commits(head, commits, summary.against is not None, [])


def _summary(summary: HistorySummary) -> list[str]:
    data = summary.to_json()
    against = escape(summary.against) if summary.against else "_no comparison_"
    lines = [
        f"- commits: {summary.commits} ({summary.walk}, configuration {summary.config_mode}, "
        f"graph {summary.graph_mode}: {len(summary.graph_ids)} distinct); "
        f"fail-safe: {summary.fail_safe}",
        f"- compared with: {against}",
    ]
    if summary.against is not None:
        lines += [
            f"- under-triggered commits: **{summary.under_triggered}** "
            f"(graph: **{summary.graph_under_triggered}**, policy only: "
            f"{summary.policy_under_triggered}); latent gaps: **{len(summary.latent)}**; "
            f"over-triggered: {summary.over_triggered}",
        ]
    keys = ["selected_by_lane"]
    keys += ["graph_missed_by_lane", "missed_by_lane", "extra_by_lane"] if summary.against else []
    for key in keys:
        counts = ", ".join(f"{escape(lane)} {n}" for lane, n in data[key].items()) or "-"
        lines.append(f"- {key.replace('_', ' ')}: {counts}")
    if summary.failsafe_codes:
        codes = ", ".join(f"`{escape(c)}` {n}" for c, n in sorted(summary.failsafe_codes.items()))
        lines.append(f"- fail-safe codes: {codes}")
    if summary.against_errors:
        lines.append(f"- **the comparison failed on {summary.against_errors} commit(s)**")
    if summary.map_never_printed:
        names = escape(", ".join(summary.map_never_printed))
        lines.append(f"- `--against-map` names the command never printed: {names}")
    lines += [f"- note: {escape(note)}" for note in summary.notes]
    return [*lines, ""]


def _latent(summary: HistorySummary) -> list[str]:
    """Latent gaps per component and lane, before the commits."""
    gaps = summary.latent_gaps
    if not gaps:
        return []
    lines = [
        f"### Latent gaps ({len(gaps)})",
        "",
        "_The component's own paths never make the other selection run a lane the graph says "
        "covers it (hidden: commits that got the lane from another path)._",
        "",
        "| component | lane | commits | hidden | first | last | example path |",
        "| --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    shown, hidden = listing(gaps, MAX_LIST)
    for gap in shown:
        lines.append(
            f"| {escape(gap.component)} | **{escape(gap.lane)}** | {gap.commits} | {gap.hidden} "
            f"| `{short_sha(gap.first)}` | `{short_sha(gap.last)}` | {escape(gap.example)} |"
        )
    if hidden:
        lines.append(f"\n… and {hidden} more.")
    return [*lines, ""]


def _missed(findings: Sequence[Finding]) -> str:
    return "<br>".join(f"**{escape(f.lane)}** ← {escape(', '.join(f.paths))}" for f in findings)


def _commit_row(commit: CommitAudit, compared: bool) -> str:
    why = "<br>".join(
        f"{escape(lane)}: {escape(reason.describe())}" for lane, reason in commit.why.items()
    )
    selected = escape(lanes_text(commit.selected))
    if commit.mode == "fail-safe":
        reasons = escape(failsafe_text(commit.failsafe, commit.failsafe_paths))
        selected += f"<br>_fail-safe: {reasons}_"
    cells = [
        f"`{short_sha(commit.sha)}`",
        escape(graph_label(commit.graph, commit.graph_id)),
        escape(commit.subject),
        escape(lanes_text(commit.components)),
        selected,
        why or "-",
    ]
    if compared:
        errors = [commit.against_error] if commit.against_error else []
        errors += commit.attribution_errors
        against = f"**error:** {escape('; '.join(errors))}" if errors else None
        cells += [
            against or escape(lanes_text(commit.against)),
            _missed(commit.graph_missed) or "-",
            _missed(commit.policy_missed) or "-",
            escape(latent_text(commit.latent)) or "-",
            escape(lanes_text([f.lane for f in commit.extra])),
        ]
    return "| " + " | ".join(cells) + " |"


def _with_commits(
    head: list[str], commits: Sequence[CommitAudit], compared: bool, tail: list[str]
) -> str:
    """The commits table between ``head`` and ``tail``, cut to stay under the 1 MiB limit."""
    columns = ["commit", "graph", "subject", "components", "selected", "why"]
    if compared:
        columns += ["against", "missed: graph ← paths", "missed: policy ← paths", "hidden latent"]
        columns += ["extra"]
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
    lanes = escape(lanes_text(report.lanes_selected, none="none"))
    changed = escape(lanes_text(report.changed_components, none="none"))
    head = [
        f"## Release audit: {escape(range_title(report.rev_range, summary.base, summary.head))}",
        "",
        f"**{summary.commits} commits** ran lanes {lanes}; "
        f"{len(report.changed_components)} components changed: {changed}.",
        "",
        *_summary(summary),
        *_latent(summary),
        *_conditions(report.conditions()),
    ]
    tail = [
        f"## Coverage at {escape(report.head)} (`{short_sha(summary.head or '?')}`, from its tree)",
        "",
        *_coverage_sections(report.coverage, with_conditions=False),
    ]
    tail += _matrix(report.coverage)
    return _with_commits(head, report.commits, summary.against is not None, tail)
