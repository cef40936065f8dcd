"""``lanes check``: validate the configuration and run its contracts."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from lanes.commands._shared import lane_runs, workspace_from_args
from lanes.config import Contract
from lanes.engine import select
from lanes.globs import GlobList, globlist
from lanes.render import shown, shown_all
from lanes.workspace import Workspace, no_lanes

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
    path_problem: str = ""
    """What is wrong with the contract's path itself (see :func:`path_problem`)."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.forbidden and not self.path_problem

    def describe(self, file: str) -> str:
        where = f"{shown(file)}:{self.contract.line}"
        path = shown(self.contract.path)
        if self.ok:
            return f"ok   {where}: {path} -> {shown_all(self.selected) or '(none)'}"
        parts = [self.path_problem] if self.path_problem else []
        if self.missing:
            parts.append(f"does not select {shown_all(self.missing)}")
        if self.forbidden:
            parts.append(f"selects forbidden {shown_all(self.forbidden)}")
        selected = shown_all(self.selected) or "none"
        return f"FAIL {where}: {path} {' and '.join(parts)} (selected: {selected})"


def run_contracts(
    workspace: Workspace, tracked: frozenset[str] | None = None
) -> list[ContractResult]:
    """Each contract's selection; with ``tracked`` (the files git tracks), also whether its
    path is what the contract says it is (:func:`path_problem`)."""
    results = []
    for contract in workspace.config.contracts:
        chosen = select([contract.path], workspace.rules, workspace.index).selected
        results.append(
            ContractResult(
                contract,
                tuple(chosen),
                tuple(lane for lane in contract.selects if lane not in chosen),
                tuple(lane for lane in contract.not_selects if lane in chosen),
                "" if tracked is None else path_problem(contract, workspace, tracked),
            )
        )
    return results


def path_problem(contract: Contract, workspace: Workspace, tracked: frozenset[str]) -> str:
    """A contract on a path that does not exist passes whatever the graph says (an unmatched
    path selects every lane) and keeps passing after a rename: its path must be a tracked file
    or match a glob of the configuration, unless it says ``exists: false`` (then it must not
    be tracked)."""
    if not contract.exists:
        return "says exists: false but the path is tracked" if contract.path in tracked else ""
    if contract.path in tracked or config_globs(workspace).matches(contract.path):
        return ""
    return "matches no tracked file and no glob of the configuration (exists: false if meant)"


def config_globs(workspace: Workspace) -> GlobList:
    """Every glob the configuration names (``!`` dropped): global, ignore, lane and component
    paths and excludes."""
    config = workspace.config
    patterns = [*config.global_paths, *config.ignore]
    for lane in config.lanes.values():
        patterns += lane.paths
    for component in config.components.values():
        patterns += [*component.paths, *component.exclude]
    return globlist(tuple(dict.fromkeys(p.removeprefix("!") for p in patterns)))


def tracked_files(workspace: Workspace) -> frozenset[str]:
    """The files in git's index (raises ``GitError``; bounded like every git command)."""
    from lanes.git.runner import run_git

    output = run_git(workspace.repo, ["ls-files", "-z", "--full-name", "--"])
    return frozenset(output.decode("utf-8", "surrogateescape").split("\0")) - {""}


LOCK_REFRESH = {
    "Cargo.lock": "cargo update --workspace",
    "uv.lock": "uv lock",
    "pnpm-lock.yaml": "pnpm install",
    "package-lock.json": "npm install",
    "npm-shrinkwrap.json": "npm install",
    "yarn.lock": "yarn install",
}
"""The command that refreshes each lockfile (by file name): all lockfile wording is here."""
_LOCK_OF_KIND = {
    "cargo": "Cargo.lock (cargo update --workspace)",
    "python": "uv.lock (uv lock)",
    "npm": "the lockfile (pnpm install, npm install or yarn install)",
}


def _refresh(lockfile: str) -> str:
    """The refresh command, and where to run it for a lockfile below the root (a nested
    Cargo workspace's, a workspace in a subdirectory)."""
    directory, _, name = lockfile.rpartition("/")
    command = LOCK_REFRESH.get(name, "the package manager's lock command")
    return f"{command} in {directory}/" if directory else command


def lockfile_disagreements(workspace: Workspace) -> list[str]:
    """Where a lockfile and the manifests disagree: each edge a lockfile records and no manifest
    states (lanes follows it: the lock is stale, or a manifest lost a dependency the build still
    resolves), each edge a manifest states and the lockfile does not record (or, for pnpm,
    records with another field or specifier), and each member the lockfile does not list (the
    lock is stale: lanes follows the manifests). Selection never changes; these are warnings
    (``--strict``: failures)."""
    index = workspace.index
    found = [
        f"{source} -> {target} ({kind}) is recorded by "
        f"{_LOCK_OF_KIND.get(index.kinds.get(source, ''), 'a lockfile')} but by no manifest: "
        "lanes follows it; refresh the lock or restore the dependency"
        for source, target, kind in index.lockfile_edges
    ]
    for lockfile, source, target, kind, stated, recorded in index.lockfile_gaps:
        manifest = index.manifests.get(source, "its manifest")
        stale = f"the lock is stale: run {_refresh(lockfile)}"
        if stated:
            found.append(
                f"{source} -> {target} ({kind}) is stated by {manifest} as {stated} but "
                f"{lockfile} records {recorded}: lanes follows the manifest; {stale}"
            )
        elif target:
            found.append(
                f"{source} -> {target} ({kind}) is stated by {manifest} but not recorded by "
                f"{lockfile}: lanes follows the manifest; {stale}"
            )
        else:
            found.append(
                f"{source} ({manifest}) is not listed by {lockfile}: lanes follows the "
                f"manifests; {stale}"
            )
    return found


def problems(workspace: Workspace, *, strict: bool = False) -> tuple[list[str], list[str]]:
    """Problems that make runs fail-safe or let lanes drift, and what could not be verified or
    disagrees without losing lanes (``strict``: those are problems too)."""
    from lanes import drift

    found = list(workspace.index.problems)
    error = no_lanes(workspace)
    if error is not None:
        found.append(f"{error.key}: {error.expected}" if error.key else error.expected)
    stale = lockfile_disagreements(workspace)
    found, warnings = (found + stale, []) if strict else (found, stale)
    if not workspace.configured:
        return found, warnings
    drifted, unverified = drift.check(workspace.repo, lane_runs(workspace), strict=strict)
    return found + drifted, warnings + unverified


def _untracked_contract_paths(results: list[ContractResult], tracked: frozenset[str]) -> list[str]:
    """Contracts whose path only a glob names: a rename of the file would go unseen."""
    return [
        f"line {r.contract.line}: {r.contract.path} is not a tracked file, only a glob of the "
        "configuration names it (exists: false if that is meant)"
        for r in results
        if r.contract.exists and r.contract.path not in tracked and not r.path_problem
    ]


def _tracked_or_problem(workspace: Workspace) -> tuple[frozenset[str] | None, list[str]]:
    if not workspace.config.contracts:
        return None, []
    from lanes.git.runner import GitError

    try:
        return tracked_files(workspace), []
    except GitError as error:
        return None, [f"cannot tell whether contract paths exist (git ls-files failed: {error})"]


def run(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    tracked, unverified = _tracked_or_problem(workspace)
    results = run_contracts(workspace, tracked)
    found, warnings = problems(workspace, strict=args.strict)
    found += unverified
    for result in results:
        if not (args.quiet and result.ok):
            print(result.describe(workspace.config.file))
    file = shown(workspace.config.file)
    for problem in found:
        print(f"FAIL {file}: {shown(problem)}")
    if tracked is not None:
        warnings += _untracked_contract_paths(results, tracked)
    for warning in warnings:
        print(f"warn {file}: {shown(warning)}", file=sys.stderr)
    failed = sum(not r.ok for r in results) + len(found)
    summary = f"{len(results)} contract(s), {failed} failure(s)"
    print(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
