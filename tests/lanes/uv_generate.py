"""Seeded uv workspaces for the differential test against uv's own lock (test_differential_uv).

``generate(seed)`` writes the manifests of one workspace: members in a workspace that may sit
below the repository root, projects outside it linked by ``path`` sources (down, sideways and
up), requirements spelled unlike the names they normalize to, extras (some requested by
dependents as ``pkg[extra]``), dependency groups with ``include-group``, ``[tool.uv]
dev-dependencies``, and members whose dependencies become ``dynamic`` once locked (the lock then
is the only record of them, as for a hatch build hook).

Run as a script with uv installed (``pip install uv``) to refresh the committed data: it writes
each workspace to a temporary directory, runs ``uv lock --offline`` (only workspace and path
packages, so no network), applies the dynamic rewrite and stores every file in
``tests/lanes/data/uv_workspaces.json``. The data is JSON rather than a tree of ``pyproject.toml``
files so this repository does not grow projects of its own.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).parent / "data" / "uv_workspaces.json"
SEEDS = tuple(range(1, 13))


def _spell(rng: random.Random, name: str) -> str:
    """``name`` as a requirement may spell it (PEP 503 normalizes them all alike)."""
    return rng.choice([name, name.replace("-", "_"), name.replace("-", "."), name.upper()])


class _Workspace:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.root = self.rng.choice(["", "python", "src/py"])
        count = self.rng.randint(4, 9)
        self.members = [f"pkg-{i}" for i in range(count)]
        self.libs = [f"lib-{i}" for i in range(self.rng.randint(1, 3))]
        self.editable = {lib: self.rng.random() < 0.5 for lib in self.libs}
        self.extras: dict[str, list[str]] = {}
        self.dynamic: set[str] = set()

    def directory(self, name: str) -> str:
        prefix = f"{self.root}/" if self.root else ""
        if name in self.libs:
            return f"vendor/{name}" if self.root == "" else f"libs/{name}"
        return f"{prefix}packages/{name}" if name != "pkg-0" else self.root

    def relative(self, source: str, target: str) -> str:
        return os.path.relpath(self.directory(target) or ".", self.directory(source) or ".")

    def requirement(self, target: str) -> str:
        text = _spell(self.rng, target)
        extras = self.extras.get(target, [])
        if extras and self.rng.random() < 0.4:
            text += f"[{self.rng.choice(extras)}]"
        if self.rng.random() < 0.2:
            text += " >=0.1 ; python_version >= '3.11'"
        return text

    def files(self) -> dict[str, str]:
        rng = self.rng
        for name in reversed(self.members + self.libs):
            if rng.random() < 0.6:
                self.extras[name] = [f"x{k}" for k in range(rng.randint(1, 2))]
        files: dict[str, str] = {}
        for index, name in enumerate(self.members):
            later = self.members[index + 1 :]
            files[_manifest(self.directory(name))] = self._member(name, later)
        for index, name in enumerate(self.libs):
            files[_manifest(self.directory(name))] = self._lib(name, self.libs[index + 1 :])
        return files

    def _pick(self, choices: list[str], most: int) -> list[str]:
        return self.rng.sample(choices, self.rng.randint(0, min(most, len(choices))))

    def _member(self, name: str, later: list[str]) -> str:
        rng = self.rng
        deps = self._pick(later, 2) + self._pick(self.libs, 1)
        lines = [_project(name), f"dependencies = {_array(self.requirement(d) for d in deps)}"]
        lines.append("[project.optional-dependencies]")
        for extra in self.extras.get(name, []):
            lines.append(f"{extra} = {_array(self.requirement(d) for d in self._pick(later, 2))}")
        groups = {"dev": self._pick(later, 2), "lint": self._pick(later, 1)}
        lines.append("[dependency-groups]")
        include = ', { include-group = "lint" }' if rng.random() < 0.5 else ""
        dev = _array(self.requirement(d) for d in groups["dev"])
        lines.append(f"dev = {dev[:-1]}{include}]" if dev != "[]" else f"dev = [{include[2:]}]")
        lines.append(f"lint = {_array(self.requirement(d) for d in groups['lint'])}")
        uv_dev = self._pick(later, 1)
        lines.append("[tool.uv]")
        lines.append(f"dev-dependencies = {_array(self.requirement(d) for d in uv_dev)}")
        if name == "pkg-0":
            members = f'"{"packages/*"}"'
            lines.append(f"[tool.uv.workspace]\nmembers = [{members}]")
        lines.append("[tool.uv.sources]")
        for target in sorted(set(later) | set(self.libs)):
            if target in self.libs:
                lines.append(f"{target} = {self._path_source(name, target)}")
            else:
                lines.append(f"{target} = {{ workspace = true }}")
        if name != "pkg-0" and deps and rng.random() < 0.3:
            self.dynamic.add(name)
        return "\n".join(lines) + "\n"

    def _lib(self, name: str, later: list[str]) -> str:
        deps = self._pick(later, 2)
        lines = [_project(name), f"dependencies = {_array(self.requirement(d) for d in deps)}"]
        lines.append("[project.optional-dependencies]")
        for extra in self.extras.get(name, []):
            lines.append(f"{extra} = {_array(self.requirement(d) for d in self._pick(later, 1))}")
        lines.append("[tool.uv.sources]")
        for target in later:
            lines.append(f"{target} = {self._path_source(name, target)}")
        return "\n".join(lines) + "\n"

    def _path_source(self, source: str, target: str) -> str:
        editable = ", editable = true" if self.editable[target] else ""
        return f'{{ path = "{self.relative(source, target)}"{editable} }}'


def _manifest(directory: str) -> str:
    return f"{directory}/pyproject.toml" if directory else "pyproject.toml"


def _project(name: str) -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\nrequires-python = ">=3.11"'


def _array(items: object) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"  # type: ignore[attr-defined]


def generate(seed: int) -> tuple[dict[str, str], set[str], str]:
    """(files, members whose dependencies are to become dynamic, workspace root directory)."""
    workspace = _Workspace(seed)
    return workspace.files(), workspace.dynamic, workspace.root


def make_dynamic(text: str) -> str:
    """The manifest with its dependencies left to a build hook (``dynamic``)."""
    kept = [line for line in text.splitlines() if not line.startswith("dependencies = ")]
    kept.insert(kept.index('requires-python = ">=3.11"') + 1, 'dynamic = ["dependencies"]')
    hook = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    return "\n".join(kept) + "\n" + hook


def lock(seed: int, uv: str) -> dict[str, str]:
    files, dynamic, root = generate(seed)
    with tempfile.TemporaryDirectory() as temp:
        for relative, text in files.items():
            path = Path(temp, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CONFIG": "1"}
        subprocess.run([uv, "lock", "--offline", "-q"], cwd=Path(temp, root), env=env, check=True)
        lock_path = f"{root}/uv.lock" if root else "uv.lock"
        files[lock_path] = Path(temp, lock_path).read_text(encoding="utf-8")
    for name in sorted(dynamic):
        prefix = f"{root}/" if root else ""
        manifest = f"{prefix}packages/{name}/pyproject.toml"
        files[manifest] = make_dynamic(files[manifest])
    return files


def main() -> int:
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    data = {str(seed): lock(seed, uv) for seed in SEEDS}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {len(data)} workspaces to {DATA}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
