"""Seeded generator of JS workspaces for the differential tests against the JS lockfiles.

:func:`generate` returns the manifests of a workspace of 30-60 packages whose dependencies form a
layered DAG over every field (``dependencies``, ``devDependencies``, ``optionalDependencies``,
``peerDependencies``) with ``workspace:`` and plain version specifiers. The lockfiles the real
package managers write for these manifests are committed under ``tests/lanes/data/jslocks``
(regenerate them with ``python -m tests.lanes.js_workspaces``, which needs pnpm, npm and yarn
berry but no registry: every dependency is a workspace package).
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

SEEDS = (1, 2, 3)
TOOLS = ("pnpm", "npm", "yarn")
LOCKFILE = {"pnpm": "pnpm-lock.yaml", "npm": "package-lock.json", "yarn": "yarn.lock"}
DATA = Path(__file__).resolve().parent / "data" / "jslocks"
FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")
SPECS = ("workspace:*", "workspace:^", "^1.0.0", "*")


def package_dir(index: int) -> str:
    group = ("packages", "libs", "apps")[index % 3]
    return f"{group}/p{index:02d}"


def package_name(index: int) -> str:
    return f"@gen/p{index:02d}" if index % 2 else f"gen-p{index:02d}"


def generate(seed: int, tool: str) -> dict[str, str]:
    """The manifests (path -> text) of workspace ``seed`` as written for ``tool``.

    npm does not know the ``workspace:`` protocol: for npm those specifiers become ``*``. pnpm
    links plain ranges to workspace packages only with ``link-workspace-packages``, set in
    ``.npmrc``.
    """
    rng = random.Random(seed)
    count = rng.randrange(30, 61)
    files: dict[str, str] = {}
    root: dict[str, object] = {"name": f"gen-{seed}", "version": "1.0.0", "private": True}
    if tool == "pnpm":
        files["pnpm-workspace.yaml"] = "packages:\n  - 'packages/*'\n  - 'libs/*'\n  - 'apps/*'\n"
        files[".npmrc"] = "link-workspace-packages=true\n"
    else:
        root["workspaces"] = ["packages/*", "libs/*", "apps/*"]
    files["package.json"] = json.dumps(root, indent=2) + "\n"
    for index in range(count):
        manifest: dict[str, object] = {"name": package_name(index), "version": "1.0.0"}
        targets = rng.sample(range(index), min(index, rng.randrange(0, 4)))
        for target in sorted(targets):
            field = rng.choice(FIELDS)
            spec = rng.choice(SPECS)
            if tool == "npm" and spec.startswith("workspace:"):
                spec = "*"
            deps = manifest.setdefault(field, {})
            assert isinstance(deps, dict)
            deps[package_name(target)] = spec
        files[f"{package_dir(index)}/package.json"] = json.dumps(manifest, indent=2) + "\n"
        files[f"{package_dir(index)}/src/index.js"] = f"export const id = {index};\n"
    return files


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _lock_command(tool: str, bin_dir: Path) -> list[str]:
    if tool == "pnpm":
        return [str(bin_dir / "pnpm"), "install", "--lockfile-only", "--offline"]
    if tool == "npm":
        return ["npm", "install", "--package-lock-only", "--offline", "--no-audit", "--no-fund"]
    return [str(bin_dir / "yarn"), "install", "--mode=update-lockfile"]


def regenerate(bin_dir: Path) -> None:
    """Write ``DATA/<tool>-<seed>.<lockfile>`` with the real package managers."""
    DATA.mkdir(parents=True, exist_ok=True)
    env = {"YARN_ENABLE_TELEMETRY": "0", "YARN_ENABLE_GLOBAL_CACHE": "0", "CI": "1"}
    for seed in SEEDS:
        for tool in TOOLS:
            with tempfile.TemporaryDirectory() as temp:
                root = Path(temp)
                _write(root, generate(seed, tool))
                if tool == "yarn":
                    (root / "yarn.lock").write_text("")
                command = _lock_command(tool, bin_dir)
                subprocess.run(command, cwd=root, check=True, env={**os.environ, **env})
                shutil.copy(root / LOCKFILE[tool], DATA / f"{tool}-{seed}.{LOCKFILE[tool]}")


if __name__ == "__main__":
    regenerate(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("node_modules/.bin"))
