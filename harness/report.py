"""Output: rich tables on a terminal, JSON, JUnit XML and a Markdown summary
(``$GITHUB_STEP_SUMMARY``). ``rich`` is imported only when a table is actually printed."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr  # writes XML, never parses it  # nosec B406


@dataclass(frozen=True)
class Case:
    """One JUnit test case: a scenario run, an exploration point or a mutant."""

    name: str
    classname: str
    seconds: float
    failure: str | None = None


def junit(suite: str, cases: Sequence[Case]) -> str:
    failures = sum(1 for c in cases if c.failure is not None)
    total = sum(c.seconds for c in cases)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<testsuites><testsuite name={quoteattr(suite)} tests="{len(cases)}" '
        f'failures="{failures}" errors="0" time="{total:.3f}">',
    ]
    for case in cases:
        head = (
            f"<testcase classname={quoteattr(case.classname)} name={quoteattr(case.name)} "
            f'time="{case.seconds:.3f}"'
        )
        if case.failure is None:
            lines.append(head + "/>")
        else:
            first = case.failure.splitlines()[0] if case.failure else "failed"
            lines.append(
                f"{head}><failure message={quoteattr(first)}>{escape(case.failure)}"
                "</failure></testcase>"
            )
    lines.append("</testsuite></testsuites>")
    return "\n".join(lines) + "\n"


def write_junit(path: str | Path, suite: str, cases: Sequence[Case]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit(suite, cases), encoding="utf-8")


def markdown_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    out = [f"### {title}", "", "| " + " | ".join(headers) + " |"]
    out.append("|" + "---|" * len(headers))
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def step_summary(markdown: str) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` when set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def emit_json(data: object, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO
) -> None:
    """A rich table on a terminal, plain aligned text otherwise."""
    if out.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for header in headers:
            table.add_column(header)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        Console(file=out).print(table)
        return
    out.write(f"{title}\n")
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(v))) for w, v in zip(widths, row, strict=False)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in rows:
        cells = [str(v).ljust(w) for v, w in zip(row, widths, strict=False)]
        out.write("  ".join(cells).rstrip() + "\n")


class Progress:
    """A rich progress bar on a terminal; silent otherwise."""

    def __init__(self, label: str, out: TextIO) -> None:
        self.label = label
        self.enabled = out.isatty()
        self._progress: object | None = None
        self._task: object | None = None
        self.out = out

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            progress = RichProgress(console=Console(file=self.out), transient=True)
            progress.start()
            self._task = progress.add_task(self.label, total=None)
            self._progress = progress
        return self

    def update(self, done: int, total: int) -> None:
        if self._progress is not None:
            from rich.progress import Progress as RichProgress
            from rich.progress import TaskID

            assert isinstance(self._progress, RichProgress) and isinstance(self._task, int)
            self._progress.update(TaskID(self._task), completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            from rich.progress import Progress as RichProgress

            assert isinstance(self._progress, RichProgress)
            self._progress.stop()


__all__ = [
    "Case",
    "Progress",
    "emit_json",
    "junit",
    "markdown_table",
    "print_table",
    "step_summary",
    "write_junit",
]
