"""``lanes graph``: components, edges and lane coverage as dot, mermaid or json."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from lanes.commands._shared import workspace_from_args
from lanes.index import Index
from lanes.render import shown

HELP = "print the component graph and lane coverage"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("graph", parents=[common], help=HELP, description=HELP)
    parser.add_argument("--format", choices=("dot", "mermaid", "json"), default="dot")


def as_json(index: Index) -> dict[str, Any]:
    return {
        "components": [
            {"name": name, "kind": kind, "manifest": index.manifests.get(name)}
            for name, kind in sorted(index.kinds.items())
        ],
        "edges": [{"from": s, "to": t, "kind": k, "optional": o} for s, t, k, o in index.edges],
        "lanes": {lane: sorted(tree) for lane, tree in index.coverage.items()},
    }


def _quote(text: str) -> str:
    """A DOT string: control characters escaped visibly first (their backslashes then
    escaped again, so DOT shows ``\\n`` as text rather than breaking the label)."""
    return '"' + shown(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_dot(index: Index) -> str:
    lines = ["digraph lanes {", "  rankdir=LR;"]
    for name, kind in sorted(index.kinds.items()):
        lanes = ", ".join(sorted(index.covered_by.get(name, [])))
        label = _quote(name)[:-1] + (f"\\n[{_quote(lanes)[1:-1]}]" if lanes else "") + '"'
        lines.append(f"  {_quote(name)} [label={label}, tooltip={_quote(kind)}];")
    for source, target, kind, optional in index.edges:
        style = ' style="dashed"' if kind == "dev" or optional else ""
        lines.append(f"  {_quote(source)} -> {_quote(target)} [label={_quote(kind)}{style}];")
    lines.append("}")
    return "\n".join(lines)


def _mermaid_id(name: str, ids: dict[str, str]) -> str:
    return ids.setdefault(name, f"c{len(ids)}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}")


def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: control characters escaped, quotes and markup as entity
    codes, one line."""
    text = shown(text)
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def as_mermaid(index: Index) -> str:
    """``graph LR``: each component labelled with the lanes covering it, like ``as_dot``."""
    ids: dict[str, str] = {}
    lines = ["graph LR"]
    for name in sorted(index.kinds):
        label = _mermaid_text(name)
        lanes = ", ".join(sorted(index.covered_by.get(name, [])))
        if lanes:
            label += f"<br/>[{_mermaid_text(lanes)}]"
        lines.append(f'  {_mermaid_id(name, ids)}["{label}"]')
    for source, target, kind, optional in index.edges:
        arrow = "-.->" if kind == "dev" or optional else "-->"
        lines.append(f"  {_mermaid_id(source, ids)} {arrow}|{kind}| {_mermaid_id(target, ids)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    index = workspace_from_args(args).index
    if args.format == "json":
        print(json.dumps(as_json(index), indent=2, ensure_ascii=True))
    elif args.format == "mermaid":
        print(as_mermaid(index))
    else:
        print(as_dot(index))
    return 0
