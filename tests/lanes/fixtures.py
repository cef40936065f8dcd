"""Realistic fixture repositories, built as real git repositories (no mocks).

Builders:

* :func:`cargo_workspace` -> ``root / "meerkat"``: a 35-crate Cargo workspace modelled on the
  repository whose hand-written CI filters missed ``meerkat-session``.
* :func:`uv_workspace` -> ``root / "acme-py"``: a uv workspace with a root project.
* :func:`npm_workspace` -> ``root / "acme-js"``: an npm workspace with a named root package.

Each builder writes the files (plus ``extra``: repository-relative path -> text, e.g. a
``lanes.yml``), runs ``git init`` / ``git add`` / ``git commit`` with a fixed author and date,
and returns the repository path. :func:`git`, :func:`write_files`, :func:`commit_all` and
:func:`clone` help
tests make further commits. The ``*_SESSION_DEPENDENTS`` dicts document what a change to each
fixture's low-level "session" component must reach.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lanes.model import Edge

GIT_ENV: dict[str, str] = {
    "GIT_AUTHOR_NAME": "Fixture Author",
    "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_COMMITTER_NAME": "Fixture Author",
    "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T12:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    """Run ``git -C repo args...`` with the fixed author environment; return stdout."""
    env = {**os.environ, **GIT_ENV}
    completed = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        input=stdin,
        capture_output=True,
        check=True,
    )
    return completed.stdout.decode("utf-8", "surrogateescape")


def write_files(repo: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        path = repo / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def clone(template: Path, target: Path) -> Path:
    """A fresh clone of ``template`` at ``target`` (a test's own copy of a module fixture)."""
    git(target.parent, "clone", "-q", str(template), str(target))
    return target


def commit_all(repo: Path, message: str) -> str:
    """Stage everything, commit, and return the new HEAD sha."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def reverse_dependents(edges: Iterable[Edge], target: str, *, optional: bool) -> set[str]:
    """Test oracle: components reaching ``target`` over normal and build edges."""
    reverse: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.kind != "dev" and (optional or not edge.optional):
            reverse[edge.target].add(edge.source)
    seen: set[str] = set()
    stack = [target]
    while stack:
        for source in reverse[stack.pop()] - seen:
            seen.add(source)
            stack.append(source)
    return seen


def check_documented_dependents(
    edges: list[Edge], target: str, components: set[str], documented: Mapping[str, frozenset[str]]
) -> None:
    """Assert that ``documented`` (a ``*_SESSION_DEPENDENTS`` dict) matches ``edges``."""
    strict = reverse_dependents(edges, target, optional=False)
    loose = reverse_dependents(edges, target, optional=True)
    dev = {e.source for e in edges if e.kind == "dev" and e.target in strict | {target}}
    assert strict == documented["transitive"]
    assert loose - strict == documented["optional"]
    assert dev - strict == documented["dev"]
    assert set().union(*documented.values()) == components - {target}
    assert documented["unaffected"].isdisjoint(strict | loose | dev)


def _init_repo(path: Path, files: Mapping[str, str], extra: Mapping[str, str] | None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    write_files(path, files)
    write_files(path, extra or {})
    commit_all(path, "Initial import")
    return path


# --------------------------------------------------------------------------------------------
# Cargo


@dataclass(frozen=True)
class Crate:
    """One crate of the Cargo fixture; dependency entries are raw TOML lines."""

    directory: str
    name: str
    deps: tuple[str, ...] = ()
    dev: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    unix: tuple[str, ...] = ()
    target_other: tuple[str, str, tuple[str, ...]] | None = None
    features: tuple[str, ...] = ()
    binary: bool = False


def _ws(name: str, *, optional: bool = False) -> str:
    return f"{name} = {{ workspace = true{', optional = true' if optional else ''} }}"


def _path(name: str, path: str, *, optional: bool = False) -> str:
    return f'{name} = {{ path = "{path}"{", optional = true" if optional else ""} }}'


CARGO_CRATES: tuple[Crate, ...] = (
    Crate("meerkat-macros", "meerkat-macros", deps=('proc-macro2 = "1"', 'quote = "1"')),
    Crate("meerkat-core", "meerkat-core", deps=("meerkat-macros.workspace = true", _ws("serde"))),
    Crate("meerkat-store", "meerkat-store", deps=(_ws("meerkat-core"),)),
    Crate(
        "meerkat-session",
        "meerkat-session",
        deps=(_ws("meerkat-core"), _ws("mk-store"), _ws("serde")),
        dev=(_path("meerkat-testkit", "../meerkat-testkit"), _ws("tokio")),
    ),
    Crate("meerkat-testkit", "meerkat-testkit", deps=(_ws("meerkat-core"),)),
    Crate("meerkat-build-support", "meerkat-build-support", deps=('cc = "1"',)),
    Crate(
        "meerkat-runtime",
        "meerkat-runtime",
        deps=(_ws("meerkat-session"), _ws("meerkat-core"), _ws("meerkat-telemetry"), _ws("tokio")),
        build=(_path("meerkat-build-support", "../meerkat-build-support"),),
    ),
    Crate("meerkat-tools", "meerkat-tools", deps=(_ws("meerkat-core"),)),
    Crate("meerkat-llm", "meerkat-llm", deps=(_ws("meerkat-core"), 'reqwest = "0.12"')),
    Crate(
        "meerkat-client",
        "meerkat-client",
        deps=(_ws("meerkat-core"), _path("meerkat-llm", "../meerkat-llm")),
    ),
    Crate(
        "meerkat-rpc",
        "meerkat-rpc",
        deps=(_ws("meerkat-runtime"), _ws("meerkat-tools"), _ws("serde")),
        build=(_path("meerkat-proto", "../crates/meerkat-proto"),),
    ),
    Crate("crates/meerkat-proto", "meerkat-proto", deps=('prost = "0.13"',)),
    Crate("meerkat-skills", "meerkat-skills", deps=(_ws("meerkat-core"),)),
    Crate(
        "meerkat-mob",
        "meerkat-mob",
        deps=(
            _ws("meerkat-runtime"),
            _ws("meerkat-tools"),
            _path("meerkat-skills", "../meerkat-skills"),
        ),
        dev=(_path("meerkat-testkit", "../meerkat-testkit"),),
    ),
    Crate(
        "meerkat",
        "meerkat",
        deps=(
            _ws("meerkat-core"),
            _ws("meerkat-session"),
            _ws("meerkat-runtime"),
            _ws("meerkat-tools"),
            _path("meerkat-mob", "../meerkat-mob", optional=True),
        ),
        features=("default = []", 'mob = ["dep:meerkat-mob"]'),
    ),
    Crate(
        "meerkat-cli",
        "rkat",
        deps=(_path("meerkat", "../meerkat", optional=False), _ws("meerkat-rpc"), 'clap = "4"'),
        binary=True,
    ),
    Crate("meerkat-fs", "meerkat-fs", deps=(_ws("meerkat-core"),), unix=(_ws("meerkat-session"),)),
    Crate("meerkat-http", "meerkat-http", deps=(_ws("meerkat-rpc"), 'axum = "0.8"')),
    Crate(
        "meerkat-grpc",
        "meerkat-grpc",
        deps=(_ws("meerkat-rpc"),),
        build=(_path("meerkat-proto", "../crates/meerkat-proto"),),
    ),
    Crate("meerkat-openapi", "meerkat-openapi", build=(_ws("meerkat-rpc"),)),
    Crate(
        "meerkat-mcp",
        "meerkat-mcp",
        deps=(_ws("meerkat-tools"), _path("meerkat-client", "../meerkat-client")),
    ),
    Crate("meerkat-auth", "meerkat-auth", deps=(_ws("meerkat-core"),)),
    Crate("meerkat-config", "meerkat-config", deps=(_ws("meerkat-core"), _ws("serde"))),
    Crate("crates/meerkat-telemetry", "meerkat-telemetry", deps=('tracing = "0.1"',)),
    Crate(
        "meerkat-memory",
        "meerkat-memory",
        deps=(_ws("meerkat-core"), _ws("meerkat-session", optional=True)),
        features=('persistent = ["dep:meerkat-session"]',),
    ),
    Crate(
        "meerkat-sdk-bench", "meerkat-sdk-bench", dev=(_ws("meerkat-session"), 'criterion = "0.5"')
    ),
    Crate("meerkat-audit", "meerkat-audit", deps=('cargo-lock = "10"',)),
    Crate(
        "meerkat-compat",
        "meerkat-compat",
        deps=('legacy-session = { package = "meerkat-session", path = "../meerkat-session" }',),
    ),
    Crate("crates/meerkat-crypto", "meerkat-crypto", deps=('sha2 = "0.10"',)),
    Crate(
        "crates/meerkat-net",
        "meerkat-net",
        deps=(_path("meerkat-crypto", "../meerkat-crypto"), _ws("meerkat-telemetry")),
    ),
    Crate(
        "meerkat-sandbox",
        "meerkat-sandbox",
        deps=(_ws("meerkat-core"),),
        unix=(_ws("meerkat-runtime"),),
        target_other=("cfg(windows)", "dependencies", ('windows-sys = "0.59"',)),
    ),
    Crate("meerkat-eval", "meerkat-eval", deps=(_ws("meerkat-core"),), dev=(_ws("meerkat-mob"),)),
    Crate(
        "meerkat-wasm",
        "meerkat-wasm",
        deps=(_ws("meerkat-core"),),
        target_other=('cfg(target_arch = "wasm32")', "dependencies", ('wasm-bindgen = "0.2"',)),
    ),
    Crate("xtask", "xtask", deps=(_path("meerkat-config", "../meerkat-config"), _ws("anyhow"))),
    Crate("crates/meerkat-storage-sqlite", "meerkat-storage-sqlite", deps=(_ws("mk-store"),)),
)

#: What a change to ``meerkat-session`` must reach in :func:`cargo_workspace`.
#: ``transitive``: its dependents over normal and build edges (optional edges excluded);
#: ``optional``: the additional dependents when optional edges count;
#: ``dev``: crates with a dev-dependency on meerkat-session or on a ``transitive`` crate;
#: ``unaffected``: every other crate.
MEERKAT_SESSION_DEPENDENTS: dict[str, frozenset[str]] = {
    "transitive": frozenset(
        {
            "meerkat-runtime",
            "meerkat-fs",
            "meerkat-compat",
            "meerkat",
            "meerkat-rpc",
            "meerkat-mob",
            "meerkat-sandbox",
            "rkat",
            "meerkat-http",
            "meerkat-grpc",
            "meerkat-openapi",
            # excluded, a workspace of its own, but built from meerkat-session by path
            "meerkat-experimental",
        }
    ),
    "optional": frozenset({"meerkat-memory"}),
    "dev": frozenset({"meerkat-sdk-bench", "meerkat-eval"}),
    "unaffected": frozenset(
        {
            "meerkat-macros",
            "meerkat-core",
            "meerkat-store",
            "meerkat-testkit",
            "meerkat-build-support",
            "meerkat-tools",
            "meerkat-llm",
            "meerkat-client",
            "meerkat-proto",
            "meerkat-skills",
            "meerkat-mcp",
            "meerkat-auth",
            "meerkat-config",
            "meerkat-telemetry",
            "meerkat-audit",
            "meerkat-crypto",
            "meerkat-net",
            "meerkat-wasm",
            "xtask",
            "meerkat-storage-sqlite",
        }
    ),
}

_CARGO_ROOT = """\
[workspace]
resolver = "2"
members = ["meerkat", "meerkat-*", "crates/*", "xtask"]
exclude = ["crates/experimental"]

[workspace.package]
version = "0.4.2"
edition = "2021"
license = "MIT OR Apache-2.0"

[workspace.dependencies]
meerkat-core = { path = "meerkat-core", version = "0.4.2" }
meerkat-macros = { path = "meerkat-macros" }
meerkat-session = { path = "meerkat-session" }
mk-store = { path = "meerkat-store", package = "meerkat-store" }
meerkat-runtime = { path = "meerkat-runtime" }
meerkat-rpc = { path = "./meerkat-rpc" }
meerkat-tools = { path = "meerkat-tools" }
meerkat-mob = { path = "meerkat-mob" }
meerkat-telemetry = { path = "crates/meerkat-telemetry" }
serde = { version = "1", features = ["derive"] }
tokio = { version = "1", features = ["full"] }
anyhow = "1"

[profile.release]
lto = "thin"
"""


def _section(header: str, lines: tuple[str, ...]) -> str:
    return f"\n[{header}]\n" + "".join(f"{line}\n" for line in lines) if lines else ""


def _crate_manifest(crate: Crate) -> str:
    text = (
        f'[package]\nname = "{crate.name}"\nversion.workspace = true\n'
        "edition.workspace = true\nlicense.workspace = true\n"
    )
    if crate.binary:
        text += f'\n[[bin]]\nname = "{crate.name}"\npath = "src/main.rs"\n'
    text += _section("dependencies", crate.deps)
    text += _section("dev-dependencies", crate.dev)
    text += _section("build-dependencies", crate.build)
    text += _section("target.'cfg(unix)'.dependencies", crate.unix)
    if crate.target_other:
        cfg, kind, lines = crate.target_other
        text += _section(f"target.'{cfg}'.{kind}", lines)
    text += _section("features", crate.features)
    return text


def _crate_files(crate: Crate) -> dict[str, str]:
    ident = crate.name.replace("-", "_")
    files = {f"{crate.directory}/Cargo.toml": _crate_manifest(crate)}
    source = "src/main.rs" if crate.binary else "src/lib.rs"
    files[f"{crate.directory}/{source}"] = f"//! {crate.name}\n\npub fn {ident}_version() {{}}\n"
    if crate.build:
        files[f"{crate.directory}/build.rs"] = "fn main() {}\n"
    if crate.dev:
        files[f"{crate.directory}/tests/smoke.rs"] = "#[test]\nfn smoke() {}\n"
    return files


def _cargo_lock() -> str:
    entries = ["# This file is automatically @generated by Cargo.\n", "version = 4\n"]
    for crate in sorted(CARGO_CRATES, key=lambda c: c.name):
        entries.append(f'\n[[package]]\nname = "{crate.name}"\nversion = "0.4.2"\n')
    return "".join(entries)


def cargo_files() -> dict[str, str]:
    """Every file of the Cargo fixture, without creating anything."""
    files: dict[str, str] = {"Cargo.toml": _CARGO_ROOT, "Cargo.lock": _cargo_lock()}
    for crate in CARGO_CRATES:
        files.update(_crate_files(crate))
    files["meerkat-session/src/persistent.rs"] = "pub struct PersistentSession;\n"
    files["meerkat-session/src/lib.rs"] += "pub mod persistent;\n"
    files["meerkat-skills/SKILL.md"] = "# Skill\n\nCompiled into the crate with include_str!.\n"
    files["meerkat-skills/src/lib.rs"] += 'pub const SKILL: &str = include_str!("../SKILL.md");\n'
    files["crates/experimental/Cargo.toml"] = (
        '[package]\nname = "meerkat-experimental"\nversion = "0.0.0"\n\n[workspace]\n\n'
        '[dependencies]\nmeerkat-session = { path = "../../meerkat-session" }\n'
    )
    files["crates/experimental/src/lib.rs"] = "\n"
    files["docs/index.md"] = "# Meerkat\n\nArchitecture notes.\n"
    files["docs/architecture.md"] = "# Architecture\n\nsession -> runtime -> rpc -> sdks\n"
    files["README.md"] = "# meerkat\n"
    files["rust-toolchain.toml"] = '[toolchain]\nchannel = "1.86.0"\n'
    files[".github/workflows/ci.yml"] = "name: ci\non: [push]\njobs: {}\n"
    files["sdks/python/meerkat_sdk/__init__.py"] = '"""Python SDK over the RPC server."""\n'
    files["sdks/typescript/src/index.ts"] = "export const version = '0.4.2';\n"
    return files


def cargo_workspace(root: Path, *, extra: Mapping[str, str] | None = None) -> Path:
    """Build the Cargo fixture as a git repository at ``root / "meerkat"`` and return it."""
    return _init_repo(root / "meerkat", cargo_files(), extra)


# --------------------------------------------------------------------------------------------
# uv (Python)


def _pyproject(name: str, body: str = "") -> str:
    return (
        f'[project]\nname = "{name}"\nversion = "1.0.0"\nrequires-python = ">=3.11"\n{body}'
        '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )


_UV_ROOT = """\
[project]
name = "acme"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = [
    "acme-api",
    "acme-cli[rich] >=1.0 ; python_version >= '3.11'",
]

[dependency-groups]
dev = ["pytest>=8", { include-group = "lint" }, "acme-testkit"]
lint = ["ruff==0.17.6"]

[tool.uv.workspace]
members = ["packages/*", "services/*"]
exclude = ["packages/legacy"]

[tool.uv.sources]
acme-api = { workspace = true }
acme-cli = { workspace = true }
acme-testkit = { workspace = true }
acme-session = { workspace = true }
acme-core = { workspace = true }
acme-store = { workspace = true }
acme-runtime = { workspace = true }

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
"""

#: Directory -> project name of every component of :func:`uv_workspace`.
UV_PROJECTS: dict[str, str] = {
    "": "acme",
    "packages/core": "acme-core",
    "packages/store": "acme-store",
    "packages/session": "acme-session",
    "packages/runtime": "acme-runtime",
    "packages/testkit": "acme-testkit",
    "packages/plugins": "acme.plugins",
    "packages/cli": "acme-cli",
    "packages/docs-tools": "acme-docs-tools",
    "packages/metrics": "acme-metrics",
    "packages/bench": "acme-bench",
    "packages/ext": "acme-ext",
    "services/api": "acme-api",
    "services/worker": "acme-worker",
}

_UV_BODIES: dict[str, str] = {
    "packages/core": 'dependencies = ["pydantic>=2"]\n',
    "packages/store": 'dependencies = ["acme-core"]\n',
    "packages/session": 'dependencies = ["Acme_Core>=0.1", "acme-store"]\n',
    "packages/runtime": 'dependencies = ["acme-session", "anyio>=4"]\n',
    "packages/testkit": 'dependencies = ["acme-core", "pytest"]\n',
    "packages/plugins": (
        'dependencies = ["acme-core"]\n\n[project.optional-dependencies]\n'
        'session = ["acme-session"]\n'
    ),
    "packages/cli": (
        'dependencies = ["click>=8"]\n\n[project.optional-dependencies]\n'
        'rich = ["rich"]\nserver = ["acme-api[uvicorn]"]\n'
    ),
    "packages/docs-tools": 'dependencies = ["mkdocs"]\n',
    "packages/metrics": (
        'dependencies = ["acme-session"]\n\n[tool.uv.sources]\n'
        'acme-session = { path = "../session", editable = true }\n'
    ),
    "packages/bench": 'dependencies = []\n\n[dependency-groups]\nbench = ["acme-session"]\n',
    "packages/ext": (
        'dependencies = ["acme-core"]\n\n[tool.uv.sources]\n'
        'acme-core = { git = "https://github.com/acme/core", tag = "v1" }\n'
    ),
    "services/api": (
        'dependencies = ["acme-runtime", "fastapi>=0.115"]\n\n[project.optional-dependencies]\n'
        'uvicorn = ["uvicorn"]\n\n[dependency-groups]\ntest = ["acme-testkit", "httpx"]\n'
    ),
    "services/worker": "dependencies = [\"Acme.Runtime ; sys_platform != 'win32'\"]\n",
}

#: What a change to ``acme-session`` must reach in :func:`uv_workspace` (keys as for Cargo).
ACME_PY_SESSION_DEPENDENTS: dict[str, frozenset[str]] = {
    "transitive": frozenset({"acme-runtime", "acme-api", "acme-worker", "acme-metrics", "acme"}),
    "optional": frozenset({"acme.plugins", "acme-cli"}),
    "dev": frozenset({"acme-bench"}),
    # acme-legacy is excluded from the workspace: a standalone project, whose acme-session
    # requirement (no source) uv resolves from the registry.
    "unaffected": frozenset(
        {"acme-core", "acme-store", "acme-testkit", "acme-docs-tools", "acme-ext", "acme-legacy"}
    ),
}


def _uv_metadata_lock(manifests: Mapping[str, str]) -> str:
    """A ``uv.lock`` listing each project of ``manifests`` (directory -> pyproject text) with the
    requirements it states, as uv's ``[package.metadata]`` records them: not what uv would
    resolve (the fixture names registry packages, which no test may download), but a lock no
    requirement postdates, so discovery does not find it stale."""
    import tomllib

    from lanes.discovery._pep508 import normalize, parse_requirement

    def entry(text: str, extra: str = "") -> str:
        parsed = parse_requirement(text)
        fields = [f'name = "{parsed.key}"']
        git = sources.get(parsed.key, {}).get("git")
        if git:  # not the member of that name: uv records the source
            fields.append(f'git = "{git}"')
        if parsed.extras:
            extras = ", ".join(f'"{normalize(e)}"' for e in sorted(parsed.extras))
            fields.append(f"extras = [{extras}]")
        if extra:
            fields.append(f"marker = \"extra == '{extra}'\"")
        return "{ " + ", ".join(fields) + " }"

    text = 'version = 1\nrevision = 5\nrequires-python = ">=3.11"\n'
    for directory, manifest in sorted(manifests.items()):
        data = tomllib.loads(manifest)
        project = data["project"]
        sources = data.get("tool", {}).get("uv", {}).get("sources", {})
        requires = [entry(r) for r in project.get("dependencies", [])]
        for extra, items in project.get("optional-dependencies", {}).items():
            requires += [entry(r, normalize(extra)) for r in items]
        text += f'\n[[package]]\nname = "{normalize(project["name"])}"\nversion = "1.0.0"\n'
        text += f'source = {{ editable = "{directory or "."}" }}\n\n[package.metadata]\n'
        text += f"requires-dist = [{', '.join(requires)}]\n"
        groups = data.get("dependency-groups", {})
        if groups:
            text += "\n[package.metadata.requires-dev]\n"
            for group, items in groups.items():
                named = [entry(r) for r in items if isinstance(r, str)]
                text += f"{normalize(group)} = [{', '.join(named)}]\n"
    return text


def uv_files() -> dict[str, str]:
    files = {"pyproject.toml": _UV_ROOT}
    for directory, name in UV_PROJECTS.items():
        if not directory:
            continue
        module = name.replace("-", "_").replace(".", "_")
        files[f"{directory}/pyproject.toml"] = _pyproject(name, _UV_BODIES[directory])
        files[f"{directory}/src/{module}/__init__.py"] = f'"""{name}."""\n'
    files["uv.lock"] = _uv_metadata_lock(
        {d: files[f"{d}/pyproject.toml" if d else "pyproject.toml"] for d in UV_PROJECTS}
    )
    files["packages/session/src/acme_session/persistent.py"] = "class PersistentSession: ...\n"
    files["packages/session/src/acme_session/schema.sql"] = "CREATE TABLE sessions (id TEXT);\n"
    files["packages/legacy/pyproject.toml"] = _pyproject(
        "acme-legacy", 'dependencies = ["acme-session"]\n'
    )
    files["src/acme/__init__.py"] = '"""The acme application."""\n'
    files["docs/index.md"] = "# acme\n"
    files["noxfile.py"] = "import nox\n"
    files["README.md"] = "# acme (uv workspace)\n"
    return files


def uv_workspace(root: Path, *, extra: Mapping[str, str] | None = None) -> Path:
    """Build the uv fixture as a git repository at ``root / "acme-py"`` and return it."""
    return _init_repo(root / "acme-py", uv_files(), extra)


# --------------------------------------------------------------------------------------------
# npm


#: Directory -> package name of every component of :func:`npm_workspace`.
NPM_PACKAGES: dict[str, str] = {
    "": "acme-monorepo",
    "packages/core": "@acme/core",
    "packages/session": "@acme/session",
    "packages/store": "@acme/store",
    "packages/runtime": "@acme/runtime",
    "packages/sdk": "@acme/sdk",
    "packages/testkit": "@acme/testkit",
    "packages/ui": "@acme/ui",
    "packages/telemetry": "@acme/telemetry",
    "apps/web": "web",
    "apps/cli": "acme-cli",
    "apps/docs": "docs",
    "apps/admin": "admin",
}

_NPM_DEPS: dict[str, dict[str, dict[str, str]]] = {
    "": {
        "devDependencies": {"@acme/testkit": "workspace:*", "typescript": "^5.6.0"},
    },
    "packages/core": {"dependencies": {"zod": "^3.23.0"}},
    "packages/session": {
        "dependencies": {"@acme/core": "workspace:^"},
        "devDependencies": {"@acme/testkit": "*"},
    },
    "packages/store": {"dependencies": {"@acme/core": "1.0.0"}},
    "packages/runtime": {
        "dependencies": {"@acme/session": "workspace:*", "@acme/store": "^1.0.0"},
    },
    "packages/sdk": {
        "dependencies": {"@acme/runtime": "workspace:~"},
        "peerDependencies": {"react": "^18 || ^19"},
    },
    "packages/testkit": {"dependencies": {"@acme/core": "*"}},
    "packages/ui": {"peerDependencies": {"@acme/session": "*", "react": "^19"}},
    "packages/telemetry": {"optionalDependencies": {"@acme/sdk": "workspace:*"}},
    "apps/web": {
        "dependencies": {"@acme/sdk": "workspace:*", "next": "15.0.0"},
        "devDependencies": {"@acme/testkit": "workspace:*"},
    },
    "apps/cli": {"dependencies": {"sdk": "npm:@acme/sdk@*", "commander": "^12"}},
    "apps/docs": {"devDependencies": {"@acme/session": "workspace:*"}},
    "apps/admin": {"dependencies": {"runtime-local": "file:../../packages/runtime"}},
}

#: What a change to ``@acme/session`` must reach in :func:`npm_workspace` (keys as for Cargo).
#: Peer and optional dependencies are installed by default: ordinary edges, none feature-gated.
ACME_JS_SESSION_DEPENDENTS: dict[str, frozenset[str]] = {
    "transitive": frozenset(
        {"@acme/runtime", "@acme/sdk", "web", "acme-cli", "admin", "@acme/ui", "@acme/telemetry"}
    ),
    "optional": frozenset(),
    "dev": frozenset({"docs"}),
    "unaffected": frozenset({"@acme/core", "@acme/store", "@acme/testkit", "acme-monorepo"}),
}


def _package_json(directory: str, name: str) -> str:
    document: dict[str, object] = {"name": name, "version": "1.0.0"}
    if not directory:
        document["private"] = True
        document["workspaces"] = ["packages/*", "apps/*"]
    document.update(_NPM_DEPS.get(directory, {}))
    return json.dumps(document, indent=2) + "\n"


def npm_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for directory, name in NPM_PACKAGES.items():
        prefix = f"{directory}/" if directory else ""
        files[f"{prefix}package.json"] = _package_json(directory, name)
        if directory:
            files[f"{prefix}src/index.ts"] = f"export const name = {json.dumps(name)};\n"
    files["packages/session/src/persistent.ts"] = "export class PersistentSession {}\n"
    files["packages/session/README.md"] = "# @acme/session\n"
    files["package-lock.json"] = '{"lockfileVersion": 3, "packages": {}}\n'
    files["docs/guide.md"] = "# Guide\n"
    files["README.md"] = "# acme (npm workspace)\n"
    return files


def npm_workspace(root: Path, *, extra: Mapping[str, str] | None = None) -> Path:
    """Build the npm fixture as a git repository at ``root / "acme-js"`` and return it."""
    return _init_repo(root / "acme-js", npm_files(), extra)
