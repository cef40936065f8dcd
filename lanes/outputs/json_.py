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
    return pretty(as_data(selection, runs, paths))


def pretty(data: dict[str, Any]) -> str:
    """``data`` as JSON with one top-level key per line, and one entry per line in each object
    below that (one per lane); deeper values stay on their line. ``json`` indents only with its
    pure-Python encoder, which costs more than the whole selection on a large workspace."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            inner = [f"    {_compact(k)}: {_compact(v)}" for k, v in value.items()]
            lines.append(f"  {_compact(key)}: {{\n" + ",\n".join(inner) + "\n  }")
        else:
            lines.append(f"  {_compact(key)}: {_compact(value)}")
    return "{\n" + ",\n".join(lines) + "\n}" if lines else "{}"


_ENCODER = json.JSONEncoder(ensure_ascii=True, default=str, separators=(", ", ": "))
_compact = _ENCODER.encode
