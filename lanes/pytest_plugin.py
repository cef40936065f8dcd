"""pytest plugin (entry point ``pytest11``): run the tests of one CI lane.

* every lane of the rootdir's ``lanes.yml`` is registered as a marker;
* ``--lane NAME`` keeps the tests marked ``NAME`` and the tests whose file belongs to a
  component the lane covers (through the same index as ``lanes detect``);
* ``--lane affected`` does that for every lane the current change selects (working tree, index
  and untracked files against the merge base with the default branch).

Without ``--lane`` the plugin only registers markers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lanes.workspace import Workspace

_WORKSPACE = pytest.StashKey["Workspace | None"]()


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
    lanes: list[str] = []
    try:
        workspace = _workspace(config)
    except Exception as error:  # a broken lanes.yml must not break unrelated test runs
        if config.getoption("--lane"):
            raise pytest.UsageError(f"--lane: cannot load lanes.yml: {error}") from error
        return
    if workspace is not None:
        lanes = list(workspace.config.lanes)
    for lane in lanes:
        description = workspace.config.lanes[lane].description if workspace else ""
        from lanes.render import shown

        line = f"{lane}: lane {lane}. {shown(description)}".strip()
        config.addinivalue_line("markers", line)


def selected_lanes(requested: list[str], workspace: Workspace) -> list[str]:
    """Expand ``affected`` and check the names."""
    lanes: list[str] = []
    for name in requested:
        if name == "affected":
            lanes += _affected(workspace)
        elif name in workspace.config.lanes:
            lanes.append(name)
        else:
            known = ", ".join(workspace.config.lanes)
            raise pytest.UsageError(f"--lane {name}: unknown lane (known: {known}, affected)")
    return list(dict.fromkeys(lanes))


def _affected(workspace: Workspace) -> list[str]:
    from lanes import gitdiff
    from lanes.engine import select

    change = gitdiff.local_changes(workspace.repo)
    uncertain = [change.uncertain] if change.uncertain else []
    return select(change.paths, workspace.rules, workspace.index, uncertain=uncertain).selected


def belongs(item: pytest.Item, lanes: list[str], workspace: Workspace) -> bool:
    if any(item.get_closest_marker(lane) for lane in lanes):
        return True
    try:
        relative = item.path.resolve().relative_to(workspace.repo.resolve()).as_posix()
    except ValueError:
        return False
    owner = workspace.index.owner(relative)
    if owner is None:
        return False
    covering = workspace.index.covered_by.get(owner.component, [])
    return any(lane in covering for lane in lanes)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    requested: list[str] = config.getoption("--lane")
    if not requested:
        return
    workspace = _workspace(config)
    if workspace is None:
        raise pytest.UsageError(f"--lane: no lanes.yml in {config.rootpath}")
    lanes = selected_lanes(requested, workspace)
    keep = [item for item in items if lanes and belongs(item, lanes, workspace)]
    dropped = [item for item in items if not (lanes and belongs(item, lanes, workspace))]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_report_header(config: pytest.Config) -> str | None:
    requested: list[str] = config.getoption("--lane")
    return f"lanes: --lane {', '.join(requested)}" if requested else None
