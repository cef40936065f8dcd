"""``--format json`` for the audits. The history is written commit by commit as it streams."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from lanes.audit.coverage import CoverageReport
from lanes.audit.history import CommitAudit, HistorySummary


def dumps(data: Any, indent: int | None = 2) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=True, default=str)


def coverage_data(report: CoverageReport) -> dict[str, Any]:
    return {
        "config": report.config_file,
        "revision": report.revision,
        "lanes": list(report.lanes),
        "unmatched_policy": report.unmatched_policy,
        "files": report.files_total,
        "conditions": report.conditions(),
        "unmatched": report.unmatched,
        "ignored": report.ignored,
        "global": report.global_files,
        "silent": report.silent,
        "stale_globs": [rule.to_json() for rule in report.stale_globs],
        "dead_lanes": [lane.to_json() for lane in report.dead_lanes],
        "uncovered_components": [c.name for c in report.uncovered_components],
        "missing": [reference.to_json() for reference in report.missing],
        "problems": report.problems,
        "lane_files": report.lane_files,
        "contracts": [
            {
                "path": result.contract.path,
                "line": result.contract.line,
                "ok": result.ok,
                "selected": list(result.selected),
                "missing": list(result.missing),
                "forbidden": list(result.forbidden),
            }
            for result in report.contracts
        ],
        "matrix": [row.to_json() for row in report.components],
    }


def write_coverage(report: CoverageReport, out: IO[str]) -> None:
    out.write(dumps(coverage_data(report)) + "\n")


def write_history(commits: Iterable[CommitAudit], summary: HistorySummary, out: IO[str]) -> None:
    """``{"commits": [...], "summary": {...}}``, each commit written as soon as it is audited."""
    out.write('{\n  "commits": [')
    separator = "\n    "
    for commit in commits:
        out.write(separator + dumps(commit.to_json(), indent=None))
        separator = ",\n    "
    out.write('\n  ],\n  "summary": ' + dumps(summary.to_json()) + "\n}\n")
