"""``--format markdown`` and the GitHub step summary."""

from __future__ import annotations

from lanes.engine import Reason, Selection
from lanes.outputs import shown_basis
from lanes.outputs.keys import renamed_outputs
from lanes.render import shown

MAX_SUMMARY_BYTES = 1_000_000  # GitHub's step summary limit is 1 MiB


def escape(text: str) -> str:
    """Neutralise control characters (:func:`lanes.render.shown`) and Markdown/HTML in
    repository-controlled text (paths, rule strings)."""
    text = shown(text)
    for char in "\\`*_{}[]<>()#+-!|~":
        text = text.replace(char, "\\" + char)
    return text


def _shortest(reasons: list[Reason]) -> Reason | None:
    return min(reasons, key=lambda r: (len(r.chain) if r.chain else 0, r.code), default=None)


def render(selection: Selection, paths: list[str] | None = None) -> str:
    lines = [
        f"## Lanes: {len(selection.selected)} of {len(selection.lanes)} selected"
        f" ({selection.mode})",
        "",
    ]
    if selection.failsafe:
        codes = ", ".join(f"`{escape(code)}`" for code in dict.fromkeys(selection.failsafe))
        lines += [f"**Fail-safe:** every lane selected because of {codes}.", ""]
    lines += ["| lane | selected | why (shortest chain) |", "| --- | --- | --- |"]
    for lane, on in selection.lanes.items():
        reason = _shortest(selection.reasons[lane]) if on else None
        why = escape(reason.describe()) if reason else ""
        lines.append(f"| {escape(lane)} | {'yes' if on else 'no'} | {why} |")
    lines += [
        "",
        "**Diff basis:** "
        + ", ".join(f"{escape(k)}={escape(v)}" for k, v in shown_basis(selection)),
    ]
    if paths is not None:
        lines += ["", f"**Changed paths:** {len(paths)}"]
    lines += _renamed_outputs(selection)
    if selection.unmatched:
        lines += [
            "",
            f"**Unmatched paths ({len(selection.unmatched)}):** "
            + ", ".join(escape(p) for p in selection.unmatched[:50]),
        ]
    return truncate("\n".join(lines) + "\n")


def _renamed_outputs(selection: Selection) -> list[str]:
    """Which lanes' ``$GITHUB_OUTPUT`` keys differ from their names (no-config mode)."""
    renamed = renamed_outputs(selection.lanes)
    if not renamed:
        return []
    pairs = ", ".join(f"{escape(lane)} → `{key}`" for lane, key in renamed)
    return ["", f"**Output keys** (names that are not usable as GitHub outputs): {pairs}"]


def truncate(text: str, limit: int = MAX_SUMMARY_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = "\n\n_(truncated: the full report exceeded GitHub's 1 MiB summary limit)_\n"
    return data[: limit - len(note.encode())].decode("utf-8", "ignore") + note
