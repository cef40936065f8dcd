"""uv workspaces whose committed ``uv.lock`` is fresh, and edits that make it stale
(tests/lanes/test_uv_stale.py), and one configured by a ``uv.toml`` (tests/lanes/test_uv_toml.py).

Each case's lock was written by ``uv lock --offline`` (workspace, path and ``find-links``
packages only, so no network) and is committed in ``tests/lanes/data/uv_stale.json``; run this
module as a script with uv installed (``pip install uv``) to refresh them. The cases cover
extras, dependency groups (``include-group``, ``[tool.uv] dev-dependencies``), markers,
requirement extras, spellings uv normalizes, a project made ``dynamic`` once locked, a
workspace in a subdirectory with a path-linked project outside it, and an override.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from tests.lanes.uv_cases import Wheel, make_dynamic, project, uv_lock, wheel_bytes

DATA = Path(__file__).parent / "data" / "uv_stale.json"

WHEELS = {
    "foo_plugin": Wheel("foo_plugin", ("foo-core",)),
    "new_plugin": Wheel("new_plugin", ("foo-core",)),
    "attrs_x": Wheel("attrs_x"),
    "tool_y": Wheel("tool_y"),
    "win_z": Wheel("win_z"),
    "host": Wheel("host", ("simple",)),
    "simple": Wheel("simple"),
}


class Case(NamedTuple):
    files: dict[str, str]
    wheels_dir: str  # where the find-links wheels are
    dynamic: tuple[str, ...] = ()  # manifests made dynamic once locked
    lock_dir: str = ""


APP = project(
    "app",
    'dependencies = ["Foo_Plugin[CLI]>=1", "win-z; sys_platform == \'win32\'", "gen"]\n'
    "[project.optional-dependencies]\nx = [\"attrs-x; python_version >= '3.11'\"]\n"
    '[dependency-groups]\ntest = ["tool-y", {include-group = "lint"}]\nlint = ["attrs-x"]\n'
    '[tool.uv]\ndev-dependencies = ["win-z"]\n'
    "[tool.uv.sources]\ngen = { workspace = true }\n",
)

CASES: dict[str, Case] = {
    "workspace": Case(
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n'
            '[tool.uv]\nfind-links = ["wheels"]\n'
            'override-dependencies = ["vendo @ file:///${PROJECT_ROOT}/vendor/vendo"]\n',
            "packages/app/pyproject.toml": APP,
            "packages/core/pyproject.toml": project("foo-core"),
            "packages/gen/pyproject.toml": project("gen", 'dependencies = ["attrs-x"]\n'),
            "packages/other/pyproject.toml": project("other"),
            "vendor/vendo/pyproject.toml": project("vendo"),
        },
        "wheels",
        dynamic=("packages/gen/pyproject.toml",),
    ),
    "subdirectory": Case(
        {
            "py/pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n\n'
            '[tool.uv]\nfind-links = ["wheels"]\n',
            "py/packages/app/pyproject.toml": project(
                "app",
                'dependencies = ["ext"]\n[tool.uv.sources]\next = { path = "../../../ext" }\n',
            ),
            "py/packages/core/pyproject.toml": project("foo-core"),
            "ext/pyproject.toml": project(
                "ext",
                'dependencies = ["attrs-x"]\n[project.optional-dependencies]\ny = ["foo-plugin"]\n'
                '[dependency-groups]\ndev = ["tool-y"]\n',
            ),
        },
        "py/wheels",
        lock_dir="py",
    ),
    # find-links from a uv.toml: app installs simple's wheel through host's, lib directly.
    "uv-toml": Case(
        {
            "uv.toml": 'find-links = ["wheels"]\n',
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/app/pyproject.toml": project("app", 'dependencies = ["host"]\n'),
            "packages/lib/pyproject.toml": project("lib", 'dependencies = ["simple"]\n'),
            "packages/other/pyproject.toml": project("other", 'dependencies = ["attrs-x"]\n'),
        },
        "wheels",
    ),
}


def write_case(root: Path, case: Case, *, dynamic: bool) -> None:
    for relative, text in case.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_dynamic(text) if dynamic and relative in case.dynamic else text)
    wheels = root / case.wheels_dir
    wheels.mkdir(parents=True, exist_ok=True)
    for name, wheel in WHEELS.items():
        (wheels / f"{name}-1.0-py3-none-any.whl").write_bytes(wheel_bytes(wheel))


def lock(case: Case, uv: str) -> str:
    with tempfile.TemporaryDirectory() as temp:
        write_case(Path(temp), case, dynamic=False)
        return uv_lock(Path(temp) / case.lock_dir, uv)


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    data = {name: lock(case, uv) for name, case in CASES.items()}
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data)} locks to {DATA}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
