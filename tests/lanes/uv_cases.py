"""Hand-written uv workspaces where uv installs a local package that no requirement of the
installing project names directly (tests/lanes/test_uv_resolution.py).

Each case is a set of manifests, optional wheels (a ``find-links`` directory, a path source
naming an archive) and manifests that become ``dynamic`` once locked. Their ``uv.lock`` files
were written by ``uv lock --offline`` (only workspace, path and ``find-links`` packages, so no
network) and are committed in ``tests/lanes/data/uv_cases.json``; run this module as a script
with uv installed (``pip install uv``) to refresh them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).parent / "data" / "uv_cases.json"
VIRTUAL_ROOT = '[tool.uv.workspace]\nmembers = ["packages/*"]\n'


def project(name: str, body: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n{body}'


class Wheel(NamedTuple):
    name: str
    requires: tuple[str, ...] = ()


class Case(NamedTuple):
    files: dict[str, str]
    wheels: dict[str, Wheel] = {}
    dynamic: tuple[str, ...] = ()  # manifests whose dependencies a build hook gives, once locked


def wheel_bytes(wheel: Wheel) -> bytes:
    """A minimal pure-Python wheel, byte for byte the same on every run (the lock hashes it)."""
    info = f"{wheel.name}-1.0.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {wheel.name}\nVersion: 1.0\n" + "".join(
        f"Requires-Dist: {r}\n" for r in wheel.requires
    )
    members = {
        f"{wheel.name}/__init__.py": "",
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: lanes-tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        f"{info}/RECORD": "",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


def make_dynamic(text: str) -> str:
    """The manifest with its dependencies left to a build hook (``dynamic``)."""
    kept = [line for line in text.splitlines() if not line.startswith("dependencies = ")]
    kept.insert(kept.index('requires-python = ">=3.11"') + 1, 'dynamic = ["dependencies"]')
    hook = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    return "\n".join(kept) + "\n" + hook


SOURCES_LIB = "[tool.uv.sources]\nlib = { workspace = true }\n"

CASES: dict[str, Case] = {
    # `lib[x]` in lib's own dependencies: x is always installed with lib.
    "self-extra": Case(
        {
            "pyproject.toml": VIRTUAL_ROOT,
            "packages/app/pyproject.toml": project("app", 'dependencies = ["lib"]\n' + SOURCES_LIB),
            "packages/lib/pyproject.toml": project(
                "lib",
                'dependencies = ["lib[x]"]\n[project.optional-dependencies]\nx = ["lib[y]"]\n'
                'y = ["util"]\n[tool.uv.sources]\nutil = { workspace = true }\n',
            ),
            "packages/util/pyproject.toml": project("util"),
        }
    ),
    # A third-party package (here from a find-links directory) requires a member by name, and
    # another name the root's override points at a directory: uv resolves both to local code.
    "third-party": Case(
        {
            "pyproject.toml": VIRTUAL_ROOT + '[tool.uv]\nfind-links = ["wheels"]\n'
            'override-dependencies = ["vendo @ file:///${PROJECT_ROOT}/vendor/vendo"]\n',
            "packages/app/pyproject.toml": project("app", '[dependency-groups]\ntest = ["host"]\n'),
            "packages/svc/pyproject.toml": project("svc", 'dependencies = ["host"]\n'),
            "packages/plugin/pyproject.toml": project("plugin"),
            "vendor/vendo/pyproject.toml": project("vendo"),
        },
        wheels={"wheels/host-1.0-py3-none-any.whl": Wheel("host", ("plugin", "vendo"))},
    ),
    # An override resolved with the root's sources beats the member's own source (an index).
    "override-source": Case(
        {
            "pyproject.toml": VIRTUAL_ROOT + '[tool.uv]\noverride-dependencies = ["oo"]\n'
            '[tool.uv.sources]\noo = { path = "vendor/oo" }\n',
            "packages/app/pyproject.toml": project(
                "app",
                'dependencies = ["oo>=5"]\n[tool.uv.sources]\noo = { index = "internal" }\n'
                '[[tool.uv.index]]\nname = "internal"\nurl = "https://example.invalid/simple"\n'
                "explicit = true\n",
            ),
            "vendor/oo/pyproject.toml": project("oo"),
        }
    ),
    # A path source naming a wheel that lies in another project's directory.
    "archive": Case(
        {
            "pyproject.toml": VIRTUAL_ROOT,
            "packages/app/pyproject.toml": project(
                "app",
                'dependencies = ["vend"]\n[tool.uv.sources]\n'
                'vend = { path = "../lib/dist/vend-1.0-py3-none-any.whl" }\n',
            ),
            "packages/gen/pyproject.toml": project(
                "gen",
                'dependencies = ["vend"]\n[tool.uv.sources]\n'
                'vend = { path = "../lib/dist/vend-1.0-py3-none-any.whl" }\n',
            ),
            "packages/lib/pyproject.toml": project("lib"),
        },
        wheels={"packages/lib/dist/vend-1.0-py3-none-any.whl": Wheel("vend")},
        dynamic=("packages/gen/pyproject.toml",),
    ),
}


def write_case(root: Path, case: Case, *, dynamic: bool) -> None:
    """The case's manifests and wheels under ``root`` (manifests made dynamic when asked)."""
    for relative, text in case.files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_dynamic(text) if dynamic and relative in case.dynamic else text)
    for relative, wheel in case.wheels.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wheel_bytes(wheel))


def uv_lock(root: Path, uv: str) -> str:
    """``uv lock --offline`` in ``root``; the lock it wrote."""
    # Not UV_NO_CONFIG: it would drop the cases' own [tool.uv] settings (find-links).
    env = {**os.environ, "UV_OFFLINE": "1", "XDG_CONFIG_HOME": str(root / ".no-user-config")}
    subprocess.run([uv, "lock", "--offline", "-q"], cwd=root, env=env, check=True)
    return (root / "uv.lock").read_text(encoding="utf-8")


def lock(case: Case, uv: str) -> str:
    with tempfile.TemporaryDirectory() as temp:
        write_case(Path(temp), case, dynamic=False)
        return uv_lock(Path(temp), uv)


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    data = {name: lock(case, uv) for name, case in CASES.items()}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data)} locks to {DATA}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
