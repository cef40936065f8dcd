"""End to end on the uv and npm workspace fixtures: the session package selects every lane whose
roots depend on it, although no lane names it."""

from __future__ import annotations

from pathlib import Path

from tests.lanes.fixtures import (
    ACME_JS_SESSION_DEPENDENTS,
    ACME_PY_SESSION_DEPENDENTS,
    commit_all,
    git,
    npm_workspace,
    uv_workspace,
    write_files,
)
from tests.lanes.test_cli_cargo import detect_json, lanes

UV_LANES = """\
version: 1
global: ["uv.lock", "pyproject.toml", "noxfile.py"]
ignore: ["docs/**", "**/*.md"]
components:
  acme:
    exclude: ["docs/**", "README.md"]
lanes:
  api:
    roots: [acme-api]
    run: nox -s api
  worker:
    roots: [acme-worker]
    include_dev: true
    run: nox -s worker
  cli:
    roots: [acme-cli]
    include_optional: true
    run: nox -s cli
  core:
    roots: [acme-core]
    run: nox -s core
contracts:
  - path: packages/session/src/acme_session/persistent.py
    selects: [api, worker, cli]
    not: [core]
"""

NPM_LANES = """\
version: 1
global: ["package-lock.json", "package.json"]
ignore: ["docs/**", "**/*.md"]
components:
  acme-monorepo:
    exclude: ["docs/**", "README.md"]
lanes:
  sdk:
    roots: ["@acme/sdk"]
    run: npm test -w @acme/sdk
  web:
    roots: [web, admin]
    include_optional: true
    run: npm test -w web
  store:
    roots: ["@acme/store"]
    run: npm test -w @acme/store
"""


def session_change(repo: Path, path: str) -> str:
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {path: "// fix\n"})
    commit_all(repo, "fix session persistence")
    return base


def test_uv_session_change_follows_the_graph(tmp_path: Path) -> None:
    repo = uv_workspace(tmp_path, extra={"lanes.yml": UV_LANES})
    base = session_change(repo, "packages/session/src/acme_session/persistent.py")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise"
    assert data["selected"] == ["api", "worker", "cli"]
    assert "acme-session" not in UV_LANES.split("contracts:")[0]
    assert lanes(repo, "check").returncode == 0


def test_uv_data_file_of_a_package_counts_for_it(tmp_path: Path) -> None:
    repo = uv_workspace(tmp_path, extra={"lanes.yml": UV_LANES})
    data = detect_json(
        repo, "--paths-from-stdin", stdin=b"packages/session/src/acme_session/schema.sql\n"
    )
    assert data["selected"] == ["api", "worker", "cli"]
    docs = detect_json(repo, "--paths-from-stdin", stdin=b"docs/index.md\n")
    assert docs["selected"] == [] and docs["mode"] == "precise"


def test_uv_without_config_reports_affected_components(tmp_path: Path) -> None:
    repo = uv_workspace(tmp_path)
    data = detect_json(
        repo, "--paths-from-stdin", stdin=b"packages/session/src/acme_session/persistent.py\n"
    )
    # Each component's lane builds its own extras and dependency groups (the defaults), so the
    # optional and dev dependents see the change too.
    dependents = ACME_PY_SESSION_DEPENDENTS
    expected = dependents["transitive"] | dependents["optional"] | dependents["dev"]
    assert set(data["selected"]) == {"acme-session"} | expected


def test_npm_session_change_follows_the_graph(tmp_path: Path) -> None:
    repo = npm_workspace(tmp_path, extra={"lanes.yml": NPM_LANES})
    base = session_change(repo, "packages/session/src/persistent.ts")
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise"
    assert data["selected"] == ["sdk", "web"]
    readme = detect_json(repo, "--paths-from-stdin", stdin=b"packages/session/README.md\n")
    assert readme["selected"] == ["sdk", "web"]


def test_npm_without_config_reports_affected_components(tmp_path: Path) -> None:
    repo = npm_workspace(tmp_path)
    data = detect_json(repo, "--paths-from-stdin", stdin=b"packages/session/src/persistent.ts\n")
    assert set(data["selected"]) >= ACME_JS_SESSION_DEPENDENTS["transitive"]
    assert "@acme/store" not in data["selected"]
