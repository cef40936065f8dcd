"""``--format text``: a rich table for terminals (plain text when piped)."""

from __future__ import annotations

from typing import IO

from lanes.engine import Selection
from lanes.outputs import shown_basis
from lanes.outputs.keys import renamed_outputs
from lanes.render import shown

SHOWN_PATHS = 20


def render(selection: Selection, stream: IO[str], paths: list[str] | None = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    def safe(text: str) -> str:
        return escape(shown(text))

    console = Console(file=stream, highlight=False, soft_wrap=True)
    title = f"{len(selection.selected)} of {len(selection.lanes)} lanes selected ({selection.mode})"
    table = Table(title=title, title_justify="left")
    table.add_column("lane")
    table.add_column("run?")
    table.add_column("why")
    for lane, on in selection.lanes.items():
        reasons = selection.reasons[lane]
        why = safe(reasons[0].describe()) if on and reasons else ""
        more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
        table.add_row(safe(lane), "[green]yes[/]" if on else "no", why + more)
    console.print(table)
    if selection.failsafe:
        codes = ", ".join(safe(code) for code in dict.fromkeys(selection.failsafe))
        console.print(f"[yellow]fail-safe:[/] every lane selected because of {codes}")
    renamed = renamed_outputs(selection.lanes)
    if renamed:
        pairs = ", ".join(f"{safe(lane)} -> {safe(key)}" for lane, key in renamed)
        console.print(f"output keys (names not usable as GitHub outputs): {pairs}")
    basis = ", ".join(f"{safe(k)}={safe(v)}" for k, v in shown_basis(selection))
    console.print(f"diff: {basis}")
    if paths is not None:
        console.print(escape(changed_line(paths)))


def changed_line(paths: list[str], limit: int = SHOWN_PATHS) -> str:
    """``changed (N paths): a, b, ... (+K more: --format json lists them all)``."""
    listed = ", ".join(shown(path) for path in paths[:limit])
    more = (
        f" (+{len(paths) - limit} more: --format json lists them all)" if len(paths) > limit else ""
    )
    return f"changed ({len(paths)} path{'' if len(paths) == 1 else 's'}): {listed or '-'}{more}"
