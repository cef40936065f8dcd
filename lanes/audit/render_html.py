"""``--format html``: one self-contained page (inline CSS and SVG, no script, no network).

The coverage matrix and the component graph are drawn as inline SVG, so the file reads the same
attached to a GitHub release or opened from disk. Every repository-controlled string (paths,
names, subjects, rules) goes through :func:`_e`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from lanes.audit.attribution import latent_text
from lanes.audit.coverage import ComponentCoverage, CoverageReport
from lanes.audit.history import CommitAudit, Finding, HistorySummary
from lanes.audit.labels import (
    CONDITION_TEXT,
    EDGE_LEGEND,
    MISS_KINDS,
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
from lanes.audit.layout import CHAR_WIDTH, Box, Layout, label, layout
from lanes.audit.release import ReleaseReport
from lanes.index import Index
from lanes.render import shown as printable

MAX_LIST = 200
MAX_COMMITS = 2_000
MAX_MATRIX_ROWS = 600
MAX_GRAPH_NODES = 400
CELL = 26.0
NONE = "\u2013"  # an en dash where a cell is empty

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}
main{max-width:1360px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}
.sub{color:#59636e;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}.card.bad b{color:#cf222e}.card.ok b{color:#1a7f37}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f6}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eff1f3;padding:1px 4px;
border-radius:4px}
.bad{color:#cf222e;font-weight:600}.good{color:#1a7f37}
.policy{color:#9a6700}.latent{color:#8250df;font-weight:600}.card.warn b{color:#9a6700}
.card.latent b{color:#8250df}.failsafe{color:#9a6700;font-size:12px}
.figure{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px;overflow:auto}
.legend{color:#59636e;font-size:12px;margin:6px 0}
ul{margin:4px 0 8px 20px;padding:0}
"""

CELL_COLOURS = {
    "R": "#0a5c2d",
    "●": "#2da44e",
    "B": "#4ac26b",
    "D": "#1b7c83",
    "O": "#8fd19e",
    "P": "#0969da",
}


def _e(text: object) -> str:
    """Escape repository-controlled text for HTML (odd bytes shown as ``\\x..``)."""
    return html.escape(printable(str(text)), quote=True)


def _page(title: str, body: Iterable[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{CSS}</style></head>\n"
        "<body><main>\n" + "\n".join(body) + "\n</main></body></html>\n"
    )


def _cards(items: Sequence[tuple[str, object, bool | str | None]]) -> str:
    """Cards: ``True`` red, ``False`` green, a string names the tone class, None plain."""
    cards = []
    for name, value, bad in items:
        tone = (
            f" {bad}" if isinstance(bad, str) else "" if bad is None else (" bad" if bad else " ok")
        )
        cards.append(f'<div class="card{tone}"><b>{_e(value)}</b>{_e(name)}</div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _list(title: str, items: Sequence[str], *, code: bool = True) -> str:
    if not items:
        return ""
    shown, hidden = listing(items, MAX_LIST)
    wrap = (lambda s: f"<code>{_e(s)}</code>") if code else _e
    entries = "".join(f"<li>{wrap(item)}</li>" for item in shown)
    more = f"<li>… and {hidden} more</li>" if hidden else ""
    return f"<h2>{_e(title)} ({len(items)})</h2><ul>{entries}{more}</ul>"


def _conditions(conditions: dict[str, bool]) -> str:
    rows = "".join(
        f'<tr><td><code>{name}</code></td><td class="{"bad" if holds else "good"}">'
        f"{'yes' if holds else 'no'}</td><td>{_e(CONDITION_TEXT[name])}</td></tr>"
        for name, holds in conditions.items()
    )
    return (
        '<h2>Conditions (<code>--fail-on</code>)</h2><table id="conditions">'
        f"<tr><th>condition</th><th>holds</th><th>meaning</th></tr>{rows}</table>"
    )


# --------------------------------------------------------------------------- SVG: matrix


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def matrix_svg(report: CoverageReport) -> str:
    """The component x lane matrix: one coloured cell per lane reaching a component."""
    rows, hidden = listing(report.components, MAX_MATRIX_ROWS)
    lanes = report.lanes
    left = max((_text_width(label(r.name)) for r in rows), default=80.0) + 70.0
    top = max((_text_width(lane) for lane in lanes), default=40.0) * 0.72 + 24.0
    width = left + CELL * max(len(lanes), 1) + 24.0
    height = top + CELL * len(rows) + 8.0
    parts = [
        f'<svg id="coverage-matrix" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-label="component by lane coverage matrix" '
        'font-family="ui-monospace,Menlo,monospace" font-size="12">'
    ]
    for column, lane in enumerate(lanes):
        x = left + column * CELL + CELL / 2
        parts.append(
            f'<text class="lane" x="{x:.1f}" y="{top - 6:.1f}" '
            f'transform="rotate(-45 {x:.1f} {top - 6:.1f})">{_e(lane)}</text>'
        )
    parts.append(
        f'<text x="{left - 10:.1f}" y="{top - 6:.1f}" text-anchor="end" fill="#59636e">files</text>'
    )
    for number, row in enumerate(rows):
        parts.append(_matrix_row(row, lanes, left, top + number * CELL))
    parts.append("</svg>")
    note = f'<p class="legend">… and {hidden} more components not drawn.</p>' if hidden else ""
    legend = " · ".join(f"<b>{_e(s)}</b> {_e(meaning)}" for s, meaning in EDGE_LEGEND)
    return (
        f'<div class="figure">{"".join(parts)}</div>'
        f'<p class="legend">{legend} · <span class="bad">red</span>: no lane covers it</p>{note}'
    )


def _matrix_row(row: ComponentCoverage, lanes: Sequence[str], left: float, y: float) -> str:
    colour = "#1f2328" if row.covered else "#cf222e"
    shade = "#ffffff" if row.covered else "#ffebe9"
    parts = [
        f'<g class="matrix-row" data-component="{_e(row.name)}">'
        f'<rect x="0" y="{y:.1f}" width="{left - 4:.1f}" height="{CELL:.0f}" fill="{shade}"/>'
        f'<text x="6" y="{y + 15:.1f}" fill="{colour}">{_e(label(row.name))}'
        f"<title>{_e(row.name)}: {row.files} files</title></text>"
        f'<text x="{left - 10:.1f}" y="{y + 15:.1f}" text-anchor="end" fill="#59636e">'
        f"{row.files}</text>"
    ]
    for column, lane in enumerate(lanes):
        x = left + column * CELL
        edge = row.lanes.get(lane)
        symbol = edge_symbol(edge) if edge else ""
        fill = CELL_COLOURS.get(symbol, "#f0f3f6")
        tip = f"{row.name} in {lane}: {edge}" if edge else f"{row.name} not in {lane}"
        parts.append(
            f'<rect class="cell" x="{x + 1:.1f}" y="{y + 1:.1f}" width="{CELL - 2:.0f}" '
            f'height="{CELL - 2:.0f}" rx="3" fill="{fill}"><title>{_e(tip)}</title></rect>'
        )
        if symbol:
            parts.append(
                f'<text x="{x + CELL / 2:.1f}" y="{y + 17:.1f}" text-anchor="middle" '
                f'fill="#ffffff">{_e(symbol)}</text>'
            )
    return "".join(parts) + "</g>"


# --------------------------------------------------------------------------- SVG: graph


def graph_svg(index: Index, *, changed: Iterable[str] = (), uncovered: Iterable[str] = ()) -> str:
    """The component graph, dependents above their dependencies; changed components orange,
    components no lane covers outlined red; dev and optional edges dashed."""
    names = sorted(index.kinds)
    if len(names) > MAX_GRAPH_NODES:
        focus = set(changed)
        names = sorted(focus) if 0 < len(focus) <= MAX_GRAPH_NODES else []
        if not names:
            return (
                f'<p class="legend">The graph has {len(index.kinds)} components, too many to '
                f"draw (limit {MAX_GRAPH_NODES}); use <code>lanes graph</code>.</p>"
            )
    drawn = layout(names, index.edges)
    body = [_edge_path(drawn, edge) for edge in drawn.edges]
    marked, lost = set(changed), set(uncovered)
    body += [
        _node(box, index, box.name in marked, box.name in lost) for box in drawn.boxes.values()
    ]
    return (
        '<div class="figure"><svg id="component-graph" xmlns="http://www.w3.org/2000/svg" '
        f'width="{drawn.width:.0f}" height="{drawn.height:.0f}" '
        f'viewBox="0 0 {drawn.width:.0f} {drawn.height:.0f}" role="img" '
        'aria-label="component dependency graph" '
        'font-family="ui-monospace,Menlo,monospace" font-size="12">'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
        'fill="#8c959f"/></marker></defs>' + "".join(body) + "</svg></div>"
        '<p class="legend">An arrow points from a component to what it depends on; dashed: dev '
        'or optional. <span style="color:#bc4c00">Orange</span>: changed in this range; '
        '<span class="bad">red outline</span>: no lane covers it.</p>'
    )


def _edge_path(drawn: Layout, edge: tuple[str, str, str, bool]) -> str:
    source, target, kind, optional = edge
    start, end = drawn.boxes[source], drawn.boxes[target]
    x1, x2 = start.center_x, end.center_x
    if end.y > start.y:
        y1, y2 = start.bottom, end.y
    elif end.y < start.y:
        y1, y2 = start.y, end.bottom
    else:
        y1 = y2 = start.bottom
    bend = max(abs(y2 - y1) / 2, 24.0)
    direction = 1 if y2 >= y1 else -1
    c1, c2 = y1 + bend * direction, y2 - bend * direction if y2 != y1 else y2 + bend
    dash = ' stroke-dasharray="4 3"' if kind == "dev" or optional else ""
    return (
        f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{c1:.1f} {x2:.1f},{c2:.1f} {x2:.1f},{y2:.1f}" '
        f'fill="none" stroke="#8c959f" stroke-width="1.2"{dash} marker-end="url(#arrow)">'
        f"<title>{_e(source)} → {_e(target)} ({_e(kind)}{', optional' if optional else ''})"
        "</title></path>"
    )


def _node(box: Box, index: Index, changed: bool, uncovered: bool) -> str:
    fill = "#fff1e5" if changed else "#ffffff"
    stroke = "#cf222e" if uncovered else ("#bc4c00" if changed else "#57606a")
    lanes = ", ".join(index.covered_by.get(box.name, [])) or "no lane"
    return (
        f'<g class="node" data-component="{_e(box.name)}"><rect x="{box.x:.1f}" y="{box.y:.1f}" '
        f'width="{box.width:.1f}" height="{box.height:.0f}" rx="5" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{2 if changed or uncovered else 1}"/>'
        f'<text x="{box.center_x:.1f}" y="{box.y + 16:.1f}" text-anchor="middle">'
        f"{_e(label(box.name))}</text><title>{_e(box.name)} ({_e(index.kinds[box.name])}): "
        f"{_e(lanes)}</title></g>"
    )


# --------------------------------------------------------------------------- sections


def _coverage_sections(report: CoverageReport, *, with_conditions: bool = True) -> list[str]:
    conditions = report.conditions()
    return [
        _cards(
            [
                ("files", report.files_total, None),
                ("components", len(report.components), None),
                ("unmatched files", len(report.unmatched), bool(report.unmatched)),
                ("uncovered components", len(report.uncovered_components), conditions["uncovered"]),
                ("stale globs", len(report.stale_globs), conditions["stale"]),
                ("dead lanes", len(report.dead_lanes), conditions["dead"]),
                ("failed contracts", len(report.failed_contracts), conditions["contracts"]),
            ]
        ),
        _conditions(conditions) if with_conditions else "",
        _list(f"Unmatched files (policy {report.unmatched_policy})", report.unmatched),
        _list(
            "Stale globs",
            [f"{rule.pattern}  ({rule.key}, line {rule.line})" for rule in report.stale_globs],
        ),
        _list("Dead lanes", [f"{d.lane}: {d.why}" for d in report.dead_lanes], code=False),
        _list("Components no lane covers", uncovered_components(report)),
        _list(
            "Missing references and problems",
            [f"{r.kind} {r.name} ({r.key})" for r in report.missing] + report.problems,
        ),
        _contracts(report),
        "<h2>Coverage matrix</h2>",
        matrix_svg(report),
        _list("Ignored files", report.ignored),
    ]


def _contracts(report: CoverageReport) -> str:
    if not report.contracts:
        return ""
    rows = "".join(
        f'<tr><td class="{"good" if r.ok else "bad"}">{"ok" if r.ok else "FAIL"}</td>'
        f"<td>{_e(contract_text(r.describe(report.config_file)))}</td></tr>"
        for r in report.contracts
    )
    header = "<tr><th>result</th><th>contract</th></tr>"
    return f'<h2>Contracts</h2><table id="contracts">{header}{rows}</table>'


def _summary(summary: HistorySummary) -> str:
    data = summary.to_json()
    compared = summary.against is not None
    cards = _cards(
        [
            ("commits", summary.commits, None),
            (
                "graph misses (commits)",
                summary.graph_under_triggered if compared else NONE,
                bool(summary.graph_under_triggered) if compared else None,
            ),
            (
                "policy misses only (commits)",
                summary.policy_under_triggered if compared else NONE,
                "warn" if summary.policy_under_triggered else None,
            ),
            (
                "latent gaps",
                len(summary.latent) if compared else NONE,
                "latent" if summary.latent else None,
            ),
            ("over-triggered", summary.over_triggered if compared else NONE, None),
            ("fail-safe", summary.fail_safe, "warn" if summary.fail_safe else None),
            (
                "comparison errors",
                summary.against_errors if compared else NONE,
                bool(summary.against_errors) if compared else None,
            ),
        ]
    )
    keys = ["selected_by_lane"]
    keys += ["graph_missed_by_lane", "missed_by_lane", "extra_by_lane"] if compared else []
    rows = "".join(
        f"<tr><th>{_e(key.replace('_', ' '))}</th><td>"
        f"{_e(', '.join(f'{lane} {n}' for lane, n in data[key].items()) or NONE)}</td></tr>"
        for key in keys
    )
    if summary.failsafe_codes:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(summary.failsafe_codes.items()))
        rows += f"<tr><th>fail-safe codes</th><td>{_e(codes)}</td></tr>"
    if summary.map_never_printed:
        names = ", ".join(summary.map_never_printed)
        rows += (
            f'<tr><th>--against-map names never printed</th><td class="bad">{_e(names)}</td></tr>'
        )
    rows += "".join(f"<tr><th>note</th><td>{_e(note)}</td></tr>" for note in summary.notes)
    against = _e(summary.against) if compared else "<i>no comparison</i>"
    legend = " · ".join(
        f'<span class="{"bad" if kind == "graph" else kind}">{kind}</span>: {_e(text)}'
        for kind, text in MISS_KINDS
    )
    return (
        f"{cards}<p>Compared with: {against} · {_e(summary.walk)} commits · configuration "
        f"{_e(summary.config_mode)} · graph {_e(summary.graph_mode)} "
        f"({len(summary.graph_ids)} distinct)</p>"
        f'<p class="legend">{legend}</p><table>{rows}</table>'
    )


def _latent(summary: HistorySummary) -> str:
    gaps = summary.latent_gaps
    if not gaps:
        return ""
    shown, hidden = listing(gaps, MAX_LIST)
    rows = "".join(
        f'<tr><td>{_e(g.component)}</td><td class="latent">{_e(g.lane)}</td>'
        f"<td>{g.commits}</td><td>{g.hidden}</td><td><code>{_e(short_sha(g.first))}</code></td>"
        f"<td><code>{_e(short_sha(g.last))}</code></td><td><code>{_e(g.example)}</code></td></tr>"
        for g in shown
    )
    more = f'<p class="legend">… and {hidden} more.</p>' if hidden else ""
    header = "".join(
        f"<th>{c}</th>"
        for c in ("component", "lane", "commits", "hidden", "first", "last", "example path")
    )
    return (
        f'<h2>Latent gaps ({len(gaps)})</h2><p class="legend">The component\'s own paths never '
        "make the other selection run a lane the graph says covers it; hidden: commits that got "
        f'the lane from another path.</p><table id="latent"><tr>{header}</tr>{rows}</table>{more}'
    )


def _commits(commits: Sequence[CommitAudit], compared: bool) -> str:
    columns = ["commit", "graph", "subject", "components", "selected", "why"]
    if compared:
        columns += ["against", "missed: graph ← paths", "missed: policy ← paths", "hidden latent"]
        columns += ["extra"]
    header = "".join(f"<th>{_e(c)}</th>" for c in columns)
    shown, hidden = listing(commits, MAX_COMMITS)
    rows = "".join(_commit_row(commit, compared) for commit in shown)
    more = f'<p class="legend">… and {hidden} more commits.</p>' if hidden else ""
    return (
        f"<h2>Commits ({len(commits)}, newest first)</h2>"
        f'<table id="commits"><tr>{header}</tr>{rows}</table>{more}'
    )


def _missed(findings: Sequence[Finding], tone: str) -> str:
    return "<br>".join(
        f'<span class="{tone}">{_e(f.lane)}</span> ← {_e(", ".join(f.paths))}' for f in findings
    )


def _commit_row(commit: CommitAudit, compared: bool) -> str:
    why = "<br>".join(
        f"<b>{_e(lane)}</b>: {_e(reason.describe())}" for lane, reason in commit.why.items()
    )
    selected = _e(lanes_text(commit.selected, none=NONE))
    if commit.mode == "fail-safe":
        reasons = failsafe_text(commit.failsafe, commit.failsafe_paths)
        selected += f'<br><span class="failsafe">fail-safe: {_e(reasons)}</span>'
    cells = [
        f"<code>{_e(short_sha(commit.sha))}</code>",
        f"<code>{_e(graph_label(commit.graph, commit.graph_id))}</code>",
        _e(commit.subject),
        _e(lanes_text(commit.components, none=NONE)),
        selected,
        why or NONE,
    ]
    if compared:
        errors = [commit.against_error] if commit.against_error else []
        errors += commit.attribution_errors
        against = f'<span class="bad">error: {_e("; ".join(errors))}</span>' if errors else None
        latent = latent_text(commit.latent)
        cells += [
            against or _e(lanes_text(commit.against, none=NONE)),
            _missed(commit.graph_missed, "bad") or NONE,
            _missed(commit.policy_missed, "policy") or NONE,
            f'<span class="latent">{_e(latent)}</span>' if latent else NONE,
            _e(lanes_text([f.lane for f in commit.extra], none=NONE)),
        ]
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


# --------------------------------------------------------------------------- pages


def coverage(report: CoverageReport, index: Index) -> str:
    where = f" at {report.revision}" if report.revision else ""
    return _page(
        "lanes coverage audit",
        [
            "<h1>lanes coverage audit</h1>",
            f'<p class="sub">{report.files_total} files{_e(where)} · configuration '
            f"<code>{_e(report.config_file)}</code></p>",
            *_coverage_sections(report),
            "<h2>Component graph</h2>",
            graph_svg(index, uncovered=[c.name for c in report.uncovered_components]),
        ],
    )


def history(commits: Sequence[CommitAudit], summary: HistorySummary) -> str:
    compared = summary.against is not None
    where = range_title(summary.rev_range, summary.base, summary.head)
    return _page(
        f"lanes history audit {where}",
        [
            f"<h1>lanes history audit <code>{_e(where)}</code></h1>",
            _summary(summary),
            _latent(summary),
            _commits(commits, compared),
        ],
    )


def release(report: ReleaseReport) -> str:
    summary = report.summary
    compared = summary.against is not None
    where = range_title(report.rev_range, summary.base, summary.head)
    return _page(
        f"Release audit {where}",
        [
            f"<h1>Release audit <code>{_e(where)}</code></h1>",
            f'<p class="sub">{summary.commits} commits · lanes run: '
            f"<b>{_e(lanes_text(report.lanes_selected, none='none'))}</b> · "
            f"{len(report.changed_components)} components changed</p>",
            _summary(summary),
            _conditions(report.conditions()),
            _latent(summary),
            _commits(report.commits, compared),
            "<h2>Component graph</h2>",
            graph_svg(report.index, changed=report.changed_components),
            f"<h2>Coverage at <code>{_e(report.head)}</code> "
            f"(<code>{_e(short_sha(summary.head or '?'))}</code>, from its tree)</h2>",
            *_coverage_sections(report.coverage, with_conditions=False),
        ],
    )
