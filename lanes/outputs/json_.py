"""``--format json``: the selection as data."""

from __future__ import annotations

import json
from typing import Any

from lanes.engine import Selection
from lanes.outputs.keys import output_keys


def matrix(selection: Selection, runs: dict[str, str | None]) -> dict[str, Any]:
    """A GitHub Actions matrix: ``{"include": [{"lane": ..., "run": ...}]}``."""
    return {"include": [{"lane": lane, "run": runs.get(lane) or ""} for lane in selection.selected]}


def as_data(
    selection: Selection, runs: dict[str, str | None], paths: list[str] | None = None
) -> dict[str, Any]:
    """The selection as data; with ``paths`` (the changed paths) also ``changed`` (their
    count) and ``paths``."""
    data: dict[str, Any] = {
        "selected": selection.selected,
        "lanes": selection.lanes,
        "mode": selection.mode,
        "failsafe": list(dict.fromkeys(selection.failsafe)),
        "reasons": {
            lane: [reason.to_json() for reason in reasons]
            for lane, reasons in selection.reasons.items()
            if selection.lanes[lane]
        },
        "unmatched": selection.unmatched,
        "ignored": selection.ignored,
        "diff": selection.basis,
        "matrix": matrix(selection, runs),
        "outputs": output_keys(selection.lanes),
    }
    if paths is not None:
        data["changed"] = len(paths)
        data["paths"] = paths
    return data


def render(
    selection: Selection, runs: dict[str, str | None], paths: list[str] | None = None
) -> str:
    return json.dumps(as_data(selection, runs, paths), indent=2, ensure_ascii=True, default=str)
