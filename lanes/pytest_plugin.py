"""pytest plugin (entry point ``pytest11``): run the tests of one CI lane.

* every lane of the rootdir's ``lanes.yml`` is registered as a marker;
* ``--lane NAME`` keeps the tests marked ``NAME`` and the tests whose file belongs to the lane:
  a change to the file alone makes ``lanes detect`` select the lane for a reason of its own
  (its owner or a reader of it is covered by the lane, or the lane's ``paths`` match it;
  ``global`` and ``unmatched`` do not count: :func:`lanes.engine.precise_lanes`);
* ``--lane affected`` does that for every lane the current change selects (working tree, index
  and untracked files against the merge base with the default branch).

The lanes are resolved when pytest starts, before collection: an unknown name is a usage error
(exit 4, with a suggestion), and the header says which lanes ``affected`` resolved to. When the
change selects no lane, no test belongs to the run and pytest exits 0 with a line saying so
(not 5, "no tests collected": running nothing is the right answer for such a change; a lane
with no tests still exits 5).

Without ``--lane`` the plugin only registers markers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest

if TYPE_CHECKING:
    from lanes.workspace import Workspace

_WORKSPACE = pytest.StashKey["Workspace | None"]()
_RESOLVED = pytest.StashKey["Resolved"]()


class Resolved(NamedTuple):
    """What ``--lane`` resolved to: the lanes, and for ``affected`` how many paths changed."""

    lanes: list[str]
    affected: bool
    changed: int | None
    uncertain: str | None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lanes", "CI lanes (lanes.yml)")
    group.addoption(
        "--lane",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the tests of lane NAME (repeatable); 'affected': the lanes of the "
        "current change",
    )


def _workspace(config: pytest.Config) -> Workspace | None:
    if _WORKSPACE not in config.stash:
        config.stash[_WORKSPACE] = _load(config.rootpath)
    return config.stash[_WORKSPACE]


def _load(root: Path) -> Workspace | None:
    if not (root / "lanes.yml").is_file():
        return None
    from lanes.workspace import load_workspace

    return load_workspace(root)


def pytest_configure(config: pytest.Config) -> None:
    requested: list[str] = config.getoption("--lane")
    try:
        workspace = _workspace(config)
    except Exception as error:  # a broken lanes.yml must not break unrelated test runs
        if requested:
            raise pytest.UsageError(f"--lane: cannot load lanes.yml: {error}") from error
        return
    if workspace is None:
        if requested:
            raise pytest.UsageError(f"--lane: no lanes.yml in {config.rootpath}")
        return
    from lanes.render import shown

    for lane, spec in workspace.config.lanes.items():
        line = f"{lane}: lane {lane}. {shown(spec.description)}".strip()
        config.addinivalue_line("markers", line)
    if requested:
        config.stash[_RESOLVED] = resolve(requested, workspace)


def resolve(requested: list[str], workspace: Workspace) -> Resolved:
    """Expand ``affected`` and check the names (before any test is collected)."""
    lanes: list[str] = []
    changed: int | None = None
    uncertain: str | None = None
    for name in requested:
        if name == "affected":
            found, changed, uncertain = _affected(workspace)
            lanes += found
        elif name in workspace.config.lanes:
            lanes.append(name)
        else:
            from lanes.suggest import did_you_mean

            known = list(workspace.config.lanes)
            raise pytest.UsageError(
                f"--lane {name}: unknown lane{did_you_mean(name, [*known, 'affected'])} "
                f"(known: {', '.join(known)}, affected)"
            )
    return Resolved(list(dict.fromkeys(lanes)), "affected" in requested, changed, uncertain)


def selected_lanes(requested: list[str], workspace: Workspace) -> list[str]:
    """Expand ``affected`` and check the names."""
    return resolve(requested, workspace).lanes


def _affected(workspace: Workspace) -> tuple[list[str], int, str | None]:
    from lanes.engine import select
    from lanes.git.local import local_changes

    change = local_changes(workspace.repo)
    uncertain = [change.uncertain] if change.uncertain else []
    selection = select(change.paths, workspace.rules, workspace.index, uncertain=uncertain)
    return selection.selected, len(change.paths), change.uncertain


def belongs(
    item: pytest.Item,
    lanes: list[str],
    workspace: Workspace,
    memo: dict[Path, frozenset[str]] | None = None,
) -> bool:
    """Whether ``item`` runs in one of ``lanes``: it is marked with one, or its file belongs
    to one (:func:`file_lanes`; ``memo`` keeps each file's answer for the other items)."""
    if any(item.get_closest_marker(lane) for lane in lanes):
        return True
    memo = {} if memo is None else memo
    found = memo.get(item.path)
    if found is None:
        found = memo[item.path] = file_lanes(item.path, workspace)
    return not found.isdisjoint(lanes)


def file_lanes(path: Path, workspace: Workspace) -> frozenset[str]:
    """The lanes a test file belongs to: those a change to it alone makes ``lanes detect``
    select for a reason of its own (:func:`lanes.engine.precise_lanes`: its owner and readers
    and their dependents, the lanes whose ``paths`` match it). A file only ``global`` or the
    ``unmatched`` policy accounts for belongs to none (those select every lane), nor does a
    file outside the repository. Links are followed: editing a test behind a link changes the
    file it points at."""
    from lanes.engine import precise_lanes

    try:
        relative = path.resolve().relative_to(workspace.repo.resolve()).as_posix()
    except ValueError:
        return frozenset()
    return frozenset(precise_lanes(relative, workspace.rules, workspace.index))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    resolved = config.stash.get(_RESOLVED, None)
    workspace = _workspace(config)
    if resolved is None or workspace is None:
        return
    lanes = resolved.lanes
    memo: dict[Path, frozenset[str]] = {}
    kept = {id(item) for item in items if lanes and belongs(item, lanes, workspace, memo)}
    keep = [item for item in items if id(item) in kept]
    dropped = [item for item in items if id(item) not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def describe(requested: list[str], resolved: Resolved) -> str:
    """``lanes: --lane affected -> sdk, web (3 changed paths)``."""
    lanes = ", ".join(resolved.lanes) or "no lane"
    line = f"lanes: --lane {', '.join(requested)} -> {lanes}"
    if resolved.affected:
        why = f"fail-safe: {resolved.uncertain}" if resolved.uncertain else "against the merge base"
        line += f" ({resolved.changed} changed path{'' if resolved.changed == 1 else 's'}, {why})"
    return line


def pytest_report_header(config: pytest.Config) -> str | None:
    requested: list[str] = config.getoption("--lane")
    resolved = config.stash.get(_RESOLVED, None)
    if not requested or resolved is None:
        return None
    return describe(requested, resolved)


def _nothing_selected(config: pytest.Config) -> bool:
    resolved = config.stash.get(_RESOLVED, None)
    return resolved is not None and resolved.affected and not resolved.lanes


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _nothing_selected(session.config) and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The resolution again at the end, where ``-q`` (no header) shows it too."""
    resolved = config.stash.get(_RESOLVED, None)
    if resolved is None:
        return
    terminalreporter.write_line(describe(config.getoption("--lane"), resolved))
    if _nothing_selected(config):
        terminalreporter.write_line(
            "lanes: --lane affected: the current change selects no lane, so no test runs (exit 0)"
        )
