"""Command line entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("not yet implemented", file=sys.stderr)
    return 2
