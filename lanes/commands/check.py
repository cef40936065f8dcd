"""``lanes check``: validate the configuration and run its contracts."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from lanes.commands._shared import lane_runs, workspace_from_args
from lanes.config import Contract
from lanes.engine import select
from lanes.workspace import Workspace

HELP = "validate lanes.yml and run its contracts"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("check", parents=[common], help=HELP, description=HELP)
    parser.add_argument("--quiet", action="store_true", help="print failures only")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail on what cannot be verified here, e.g. a lane's program is not installed (CI)",
    )


@dataclass(frozen=True)
class ContractResult:
    contract: Contract
    selected: tuple[str, ...]
    missing: tuple[str, ...]
    forbidden: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.forbidden

    def describe(self, file: str) -> str:
        where = f"{file}:{self.contract.line}"
        if self.ok:
            return f"ok   {where}: {self.contract.path} -> {', '.join(self.selected) or '(none)'}"
        parts = []
        if self.missing:
            parts.append(f"does not select {', '.join(self.missing)}")
        if self.forbidden:
            parts.append(f"selects forbidden {', '.join(self.forbidden)}")
        selected = ", ".join(self.selected) or "none"
        return f"FAIL {where}: {self.contract.path} {' and '.join(parts)} (selected: {selected})"


def run_contracts(workspace: Workspace) -> list[ContractResult]:
    results = []
    for contract in workspace.config.contracts:
        chosen = select([contract.path], workspace.rules, workspace.index).selected
        results.append(
            ContractResult(
                contract,
                tuple(chosen),
                tuple(lane for lane in contract.selects if lane not in chosen),
                tuple(lane for lane in contract.not_selects if lane in chosen),
            )
        )
    return results


def problems(workspace: Workspace, *, strict: bool = False) -> tuple[list[str], list[str]]:
    """Problems that make runs fail-safe or let lanes drift, and what could not be verified
    (``strict``: that is a problem too)."""
    from lanes import drift

    found = list(workspace.index.problems)
    if not workspace.configured:
        return found, []
    drifted, warnings = drift.check(workspace.repo, lane_runs(workspace), strict=strict)
    return found + drifted, warnings


def run(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    results = run_contracts(workspace)
    found, warnings = problems(workspace, strict=args.strict)
    for result in results:
        if not (args.quiet and result.ok):
            print(result.describe(workspace.config.file))
    for problem in found:
        print(f"FAIL {workspace.config.file}: {problem}")
    for warning in warnings:
        print(f"warn {workspace.config.file}: {warning}", file=sys.stderr)
    failed = sum(not r.ok for r in results) + len(found)
    summary = f"{len(results)} contract(s), {failed} failure(s)"
    print(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
