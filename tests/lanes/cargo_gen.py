"""A seeded generator of Cargo workspaces for the differential tests against cargo itself.

Each workspace has 20-40 crates in a layered DAG: members by glob (``crates/*``) and by literal
path, implicit members (``vendor/*``, reached only through path dependencies), an excluded
directory, sometimes a root package; normal, build and dev dependencies (dev cycles too),
optional ones behind features (``dep:x`` or the implicit feature), renames, ``workspace = true``
with ``default-features`` and ``features`` to merge, ``[target.'cfg(...)'.*]`` tables, and
features that use ``x/feat``, weak ``x?/feat`` and request features of their dependencies. No
registry dependencies, so ``cargo --offline`` works on them. Every manifest is valid for Cargo.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GenDep:
    alias: str
    target: GenCrate
    kind: str  # "normal", "dev", "build"
    optional: bool = False
    features: list[str] = field(default_factory=list)
    default_features: bool | None = None
    workspace: bool = False
    cfg: str | None = None
    implicit_feature: bool = False  # an optional dep enabled by its implicit feature, not dep:


@dataclass
class GenCrate:
    index: int
    name: str
    directory: str
    implicit: bool
    deps: list[GenDep] = field(default_factory=list)
    features: dict[str, list[str]] = field(default_factory=dict)

    def feature_names(self) -> list[str]:
        """Features a dependent may request: explicit ones and implicit ones of optional deps."""
        return [*self.features, *(d.alias for d in self.deps if d.implicit_feature)]


@dataclass
class GenWorkspace:
    seed: int
    crates: list[GenCrate]
    workspace_deps: dict[str, tuple[GenCrate, bool | None, list[str]]]
    literal_members: list[str]
    root_package: GenCrate | None


def _directory(i: int, count: int, rng: random.Random) -> tuple[str, bool]:
    if i < count - 3 and rng.random() < 0.15:
        return f"vendor/v{i}", True
    if rng.random() < 0.1:
        return f"tools/t{i}", False
    return f"crates/c{i}", False


def generate(seed: int) -> GenWorkspace:
    rng = random.Random(seed)
    count = rng.randint(20, 40)
    crates: list[GenCrate] = []
    for i in range(count):
        directory, implicit = _directory(i, count, rng)
        name = f"gen-{i}" if rng.random() > 0.15 else f"pkg{i}-named-apart"
        crates.append(GenCrate(i, name, directory, implicit))
    workspace_deps: dict[str, tuple[GenCrate, bool | None, list[str]]] = {}
    for crate in crates:
        _add_dependencies(crate, crates, workspace_deps, rng)
        _add_features(crate, rng)
    _reach_implicit_members(crates, rng)
    _add_dev_cycles(crates, rng)
    root = None
    if rng.random() < 0.5:
        root = GenCrate(count, "gen-root", "", False)
        _add_dependencies(root, crates, workspace_deps, rng, top=True)
        _add_features(root, rng)
    literal = [c.directory for c in crates if c.directory.startswith("tools/")]
    return GenWorkspace(seed, crates, workspace_deps, literal, root)


def _add_dependencies(
    crate: GenCrate,
    crates: list[GenCrate],
    workspace_deps: dict[str, tuple[GenCrate, bool | None, list[str]]],
    rng: random.Random,
    top: bool = False,
) -> None:
    lower = crates[: crate.index]
    if not lower:
        return
    for target in rng.sample(lower, min(len(lower), rng.randint(0, 6 if top else 4))):
        kind = rng.choices(["normal", "dev", "build"], [0.6, 0.2, 0.2])[0]
        dep = GenDep(target.name, target, kind)
        dep.optional = kind != "dev" and rng.random() < 0.35
        dep.implicit_feature = dep.optional and rng.random() < 0.4
        names = target.feature_names()
        dep.features = rng.sample(names, min(len(names), rng.choice([0, 0, 1, 2])))
        if rng.random() < 0.25:
            dep.default_features = False
        if rng.random() < 0.15:
            dep.alias = f"r{crate.index}-{target.index}"
        elif rng.random() < 0.4:
            dep.workspace = True
            if target.name not in workspace_deps:
                default = False if rng.random() < 0.4 else None
                extra = rng.sample(names, min(len(names), rng.choice([0, 1])))
                workspace_deps[target.name] = (target, default, extra)
        roll = rng.random()
        dep.cfg = "cfg(unix)" if roll < 0.12 else "cfg(windows)" if roll < 0.2 else None
        crate.deps.append(dep)


def _add_features(crate: GenCrate, rng: random.Random) -> None:
    runtime = [d for d in crate.deps if d.kind != "dev"]
    own: list[str] = []
    for letter in "abcd"[: rng.randint(0, 4)]:
        values: list[str] = []
        for _ in range(rng.randint(1, 3)):
            choice = _feature_value(crate, runtime, own, rng)
            if choice is not None and choice not in values:
                values.append(choice)
        name = f"f{crate.index}{letter}"
        crate.features[name] = values
        own.append(name)
    # Every dep:-style optional dependency is named by some feature (else Cargo makes an
    # implicit feature for it, and the generator's bookkeeping would be wrong).
    for dep in runtime:
        if dep.optional and not dep.implicit_feature:
            mentioned = any(
                v in (f"dep:{dep.alias}",) for values in crate.features.values() for v in values
            )
            if not mentioned:
                crate.features[f"use-{dep.alias}"] = [f"dep:{dep.alias}"]
    if crate.features or any(d.implicit_feature for d in runtime):
        pool = [*crate.features, *(d.alias for d in runtime if d.implicit_feature)]
        crate.features["default"] = rng.sample(pool, min(len(pool), rng.randint(0, 2)))


def _feature_value(
    crate: GenCrate, runtime: list[GenDep], own: list[str], rng: random.Random
) -> str | None:
    roll = rng.random()
    if roll < 0.2 and own:
        return rng.choice(own)
    if not runtime:
        return None
    dep = rng.choice(runtime)
    target_features = dep.target.feature_names()
    if roll < 0.55 and dep.optional:
        return dep.alias if dep.implicit_feature else f"dep:{dep.alias}"
    if target_features:
        weak = "?" if dep.optional and rng.random() < 0.5 else ""
        return f"{dep.alias}{weak}/{rng.choice(target_features)}"
    return None


def _reach_implicit_members(crates: list[GenCrate], rng: random.Random) -> None:
    """Give every implicit member a path dependent among the listed members above it."""
    for crate in crates:
        if not crate.implicit:
            continue
        dependents = [c for c in crates if any(d.target is crate for d in c.deps)]
        if any(not c.implicit for c in dependents):
            continue
        listed = [c for c in crates[crate.index + 1 :] if not c.implicit]
        rng.choice(listed).deps.append(GenDep(crate.name, crate, "dev"))


def _add_dev_cycles(crates: list[GenCrate], rng: random.Random) -> None:
    """Dev-dependencies on crates above (a core whose tests use a testkit built on it): Cargo
    allows these cycles, and only the tested crate builds them."""
    for crate in crates:
        above = [c for c in crates[crate.index + 1 :] if all(d.target is not c for d in crate.deps)]
        if above and rng.random() < 0.2:
            target = rng.choice(above)
            names = target.feature_names()
            features = rng.sample(names, min(len(names), rng.choice([0, 1])))
            crate.deps.append(GenDep(target.name, target, "dev", features=features))


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"'


def _dep_line(crate: GenCrate, dep: GenDep) -> str:
    fields: dict[str, object] = {}
    if dep.workspace:
        fields["workspace"] = True
    else:
        relative = os.path.relpath(dep.target.directory or ".", crate.directory or ".")
        fields["path"] = relative.replace(os.sep, "/")
        if dep.alias != dep.target.name:
            fields["package"] = dep.target.name
    if dep.optional:
        fields["optional"] = True
    if dep.features:
        fields["features"] = dep.features
    if dep.default_features is not None:
        fields["default-features"] = dep.default_features
    body = ", ".join(f"{k} = {_value(v)}" for k, v in fields.items())
    return f'"{dep.alias}" = {{ {body} }}\n'


_TABLES = {"normal": "dependencies", "dev": "dev-dependencies", "build": "build-dependencies"}


def _manifest(crate: GenCrate) -> str:
    text = f'[package]\nname = "{crate.name}"\nversion = "0.1.0"\nedition = "2021"\n'
    sections: dict[str, list[str]] = {}
    for dep in crate.deps:
        table = _TABLES[dep.kind]
        header = f"target.'{dep.cfg}'.{table}" if dep.cfg else table
        sections.setdefault(header, []).append(_dep_line(crate, dep))
    for header, lines in sections.items():
        text += f"\n[{header}]\n" + "".join(lines)
    if crate.features:
        text += "\n[features]\n" + "".join(
            f'"{name}" = {_value(values)}\n' for name, values in crate.features.items()
        )
    return text


def write(workspace: GenWorkspace, root: Path) -> None:
    members = ["crates/*", *workspace.literal_members]
    text = (
        f'[workspace]\nresolver = "2"\nmembers = {_value(members)}\nexclude = ["crates/excluded"]\n'
    )
    if workspace.root_package is not None:
        package = _manifest(workspace.root_package)
        text = (
            package.split("\n[", 1)[0] + "\n\n" + text + package[len(package.split("\n[", 1)[0]) :]
        )
    if workspace.workspace_deps:
        text += "\n[workspace.dependencies]\n"
        for name, (target, default, extra) in sorted(workspace.workspace_deps.items()):
            fields = f'path = "{target.directory}"'
            if default is not None:
                fields += f", default-features = {_value(default)}"
            if extra:
                fields += f", features = {_value(extra)}"
            text += f'"{name}" = {{ {fields} }}\n'
    files = {"Cargo.toml": text}
    if workspace.root_package is not None:
        files["src/lib.rs"] = "\n"
    for crate in workspace.crates:
        files[f"{crate.directory}/Cargo.toml"] = _manifest(crate)
        files[f"{crate.directory}/src/lib.rs"] = "\n"
    files["crates/excluded/Cargo.toml"] = (
        '[package]\nname = "excluded"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n'
    )
    files["crates/excluded/src/lib.rs"] = "\n"
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
