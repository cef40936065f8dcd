"""The release audit: one report for ``A..B``.

Per commit the lanes selected and why, the changed components and the under-/over-trigger
findings against a chosen comparison (the history audit); the coverage audit of the tree at ``B``,
with the workspace (configuration, manifests, graph) read from B's tree
(:mod:`lanes.audit.tree_at`), and its contracts; and what the release touched as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lanes.audit.coverage import FAIL_ON_CONDITIONS as COVERAGE_CONDITIONS
from lanes.audit.coverage import CoverageReport
from lanes.audit.history import FAIL_ON_CONDITIONS as HISTORY_CONDITIONS
from lanes.audit.history import CommitAudit, HistorySummary
from lanes.index import Index

FAIL_ON_CONDITIONS = COVERAGE_CONDITIONS + HISTORY_CONDITIONS


@dataclass
class ReleaseReport:
    rev_range: str
    head: str
    commits: list[CommitAudit]
    summary: HistorySummary
    coverage: CoverageReport
    index: Index  # for the component graph

    @property
    def changed_components(self) -> list[str]:
        return sorted(self.summary.components)

    @property
    def lanes_selected(self) -> list[str]:
        return [lane for lane in self.coverage.lanes if self.summary.selected_by_lane[lane]]

    def conditions(self) -> dict[str, bool]:
        return {**self.coverage.conditions(), **self.summary.conditions()}

    def to_json(self) -> dict[str, Any]:
        from lanes.audit.render_json import coverage_data

        return {
            "range": self.rev_range,
            "head": self.head,
            "base_sha": self.summary.base,
            "head_sha": self.summary.head,
            "lanes_selected": self.lanes_selected,
            "changed_components": self.changed_components,
            "commits": [commit.to_json() for commit in self.commits],
            "summary": self.summary.to_json(),
            "coverage": coverage_data(self.coverage),
        }


def split_range(rev_range: str) -> tuple[str, str]:
    """``A..B`` -> (A, B); ``B`` defaults to HEAD. ``ValueError`` for anything else."""
    if "..." in rev_range or ".." not in rev_range:
        raise ValueError(f"expected a range A..B, got {rev_range!r}")
    base, _, head = rev_range.partition("..")
    if not base:
        raise ValueError(f"expected a range A..B, got {rev_range!r}")
    return base, head or "HEAD"
