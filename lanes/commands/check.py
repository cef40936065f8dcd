"""``lanes check``: validate the configuration and run its contracts."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from lanes.commands._shared import workspace_from_args
from lanes.config import Contract
from lanes.engine import select
from lanes.render import shown, shown_all
from lanes.workspace import Workspace, no_lanes

HELP = "validate lanes.yml and run its contracts"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("check", parents=[common], help=HELP, description=HELP)
    parser.add_argument("--quiet", action="store_true", help="print failures only")


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
        where = f"{shown(file)}:{self.contract.line}"
        path = shown(self.contract.path)
        if self.ok:
            return f"ok   {where}: {path} -> {shown_all(self.selected) or '(none)'}"
        parts = []
        if self.missing:
            parts.append(f"does not select {shown_all(self.missing)}")
        if self.forbidden:
            parts.append(f"selects forbidden {shown_all(self.forbidden)}")
        selected = shown_all(self.selected) or "none"
        return f"FAIL {where}: {path} {' and '.join(parts)} (selected: {selected})"


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


def problems(workspace: Workspace) -> tuple[list[str], list[str]]:
    """Problems that make runs fail-safe or let lanes drift, and what could not be verified."""
    from lanes import drift

    found = list(workspace.index.problems)
    error = no_lanes(workspace)
    if error is not None:
        found.append(f"{error.key}: {error.expected}" if error.key else error.expected)
    if not workspace.configured:
        return found, []
    runs = {name: lane.run for name, lane in workspace.config.lanes.items()}
    runner, warnings = drift.runner_problems(workspace.repo, runs)
    found += runner
    found += drift.workflow_problems(workspace.repo, list(workspace.config.lanes))
    return found, warnings


def run(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    results = run_contracts(workspace)
    found, warnings = problems(workspace)
    for result in results:
        if not (args.quiet and result.ok):
            print(result.describe(workspace.config.file))
    file = shown(workspace.config.file)
    for problem in found:
        print(f"FAIL {file}: {shown(problem)}")
    for warning in warnings:
        print(f"warn {file}: {shown(warning)}", file=sys.stderr)
    failed = sum(not r.ok for r in results) + len(found)
    summary = f"{len(results)} contract(s), {failed} failure(s)"
    print(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
