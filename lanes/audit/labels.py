"""Words and symbols shared by the text, Markdown and HTML renderers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from lanes.audit.coverage import CoverageReport

T = TypeVar("T")

CONDITION_TEXT = {
    "uncovered": "files or components no lane covers",
    "stale": "globs that match no tracked file",
    "dead": "lanes no file can select",
    "contracts": "failed contracts, missing references or fail-safe problems",
    "missed": "commits that ran fewer lanes than the graph requires (under-trigger)",
    "graph-missed": "commits that missed a lane a dependency edge selects (the misses that matter)",
    "latent": "components whose own paths never select a lane the graph says covers them",
    "extra": "commits that ran more lanes than the graph requires (over-trigger)",
    "against-errors": "commits on which the comparison failed, timed out or printed nothing",
}

EDGE_SYMBOLS = {"root": "R", "normal": "●", "build": "B", "dev": "D", "paths": "P"}
EDGE_LEGEND = (
    ("R", "root of the lane"),
    ("●", "reached over normal dependencies"),
    ("B", "reached over a build dependency"),
    ("D", "a root's dev-dependency"),
    ("O", "reached over an optional dependency"),
    ("P", "selected by the lane's paths"),
)


GRAPH_ID_CHARS = 8


def graph_label(graph: str, graph_id: str | None) -> str:
    """The graph a commit was judged with, in a table cell: the short id of what discovery read
    at the commit (equal ids, equal graphs), ``checked out``, or ``unavailable``."""
    if graph.startswith("unavailable"):
        return "unavailable"
    return graph_id[:GRAPH_ID_CHARS] if graph_id else graph or "checked out"


def edge_symbol(edge: str) -> str:
    """One character for how a lane reaches a component (see :data:`EDGE_LEGEND`)."""
    if "+optional" in edge:  # "normal+optional via crate/feature"
        return "O"
    return EDGE_SYMBOLS.get(edge, "●")


def short_sha(sha: str) -> str:
    return sha[:10]


def listing(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first ``limit`` items and how many were left out."""
    return list(items[:limit]), max(0, len(items) - limit)


def contract_text(describe: str) -> str:
    """``ContractResult.describe()`` without its ``ok``/``FAIL`` status word."""
    return describe.split(" ", 1)[-1].lstrip()


def uncovered_components(report: CoverageReport) -> list[str]:
    """``name (N files)`` for each component no lane covers."""
    return [f"{row.name} ({row.files} files)" for row in report.uncovered_components]


MISS_KINDS = (
    ("graph", "a dependency edge selects the lane: the old rules lack it (these matter)"),
    ("policy", "global, unmatched, a lane's paths or a fail-safe code selects it"),
    ("latent", "the component's own paths never select a lane the graph says covers it"),
)


def range_title(rev_range: str, base: str | None, head: str | None) -> str:
    """``A..B (1a2b3c4d5e..6f7a8b9c0d)``: the range as given and the commits it resolved to."""
    if base is None and head is None:
        return rev_range
    return f"{rev_range} ({short_sha(base or '?')}..{short_sha(head or '?')})"


def failsafe_text(codes: Sequence[str], paths: Mapping[str, Sequence[str]]) -> str:
    """``unmatched (scripts/a.sh, +2); git-error (...)``: each fail-safe code, what is behind it."""
    parts = []
    for code in codes:
        behind = list(paths.get(code, ()))
        shown = ", ".join(behind[:3]) + (f", +{len(behind) - 3}" if len(behind) > 3 else "")
        parts.append(f"{code} ({shown})" if behind else code)
    return "; ".join(parts)


def lanes_text(lanes: Sequence[str] | None, *, none: str = "-") -> str:
    """A list of lanes as words (never a Python list)."""
    return ", ".join(lanes) if lanes else none
