"""End to end: a root override (npm ``overrides``, yarn ``resolutions``, pnpm ``pnpm.overrides``
and ``pnpm-workspace.yaml`` ``overrides``) that points a package at a workspace directory
replaces that package wherever the install tree holds it, so every package may compile it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo import detect_json
from tests.lanes.test_cli_npm import make_repo, pkg


def _workspace(root: dict[str, object], extra: dict[str, str] | None = None) -> dict[str, str]:
    files = {
        "package.json": pkg("monorepo", private=True, workspaces=["packages/*"], **root),
        # app names the overridden package with a plain registry range
        "packages/app/package.json": pkg("app", dependencies={"left-pad": "^1.0.0"}),
        "packages/app/index.js": "\n",
        # web reaches it only through a registry package's own dependencies
        "packages/web/package.json": pkg("web", dependencies={"some-registry-pkg": "^2"}),
        "packages/web/index.js": "\n",
        "packages/lp/package.json": pkg("left-pad-fork", version="1.3.0"),
        "packages/lp/index.js": "\n",
    }
    files.update(extra or {})
    return files


def _selected(repo: Path, path: str) -> set[str]:
    data = detect_json(repo, "--paths-from-stdin", stdin=f"{path}\n".encode())
    assert data["mode"] == "precise", data["failsafe"]
    return set(data["selected"])


@pytest.mark.parametrize(
    "root",
    [
        {"overrides": {"left-pad": "file:./packages/lp"}},
        {"overrides": {"some-registry-pkg": {"left-pad": "file:./packages/lp"}}},
        {"resolutions": {"**/left-pad": "portal:./packages/lp"}},
        {"pnpm": {"overrides": {"some-registry-pkg>left-pad@^1": "link:./packages/lp"}}},
        {"resolutions": {"left-pad": "workspace:left-pad-fork@*"}},
    ],
    ids=["npm", "npm-nested", "yarn", "pnpm", "workspace-alias"],
)
def test_an_override_into_the_workspace_selects_every_package(
    tmp_path: Path, root: dict[str, object]
) -> None:
    repo = make_repo(tmp_path / "ws", _workspace(root))
    assert _selected(repo, "packages/lp/index.js") >= {"app", "web", "left-pad-fork"}
    assert _selected(repo, "packages/app/index.js") == {"app"}


def test_a_pnpm_workspace_override_selects_every_package(tmp_path: Path) -> None:
    files = _workspace({})
    files["pnpm-workspace.yaml"] = (
        "packages:\n  - 'packages/*'\noverrides:\n  left-pad: 'link:./packages/lp'\n"
    )
    repo = make_repo(tmp_path / "ws", files)
    assert _selected(repo, "packages/lp/index.js") >= {"app", "web", "left-pad-fork"}


def test_an_override_into_no_package_is_fail_safe(tmp_path: Path) -> None:
    files = _workspace({"overrides": {"left-pad": "link:./packages/missing"}})
    repo = make_repo(tmp_path / "ws", files)
    data = detect_json(repo, "--paths-from-stdin", stdin=b"packages/app/index.js\n")
    assert data["mode"] == "fail-safe"
    assert any(code.startswith("unresolved-dependency: package.json:") for code in data["failsafe"])


def test_a_registry_override_adds_no_edge(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws", _workspace({"overrides": {"left-pad": "1.3.0"}}))
    assert _selected(repo, "packages/lp/index.js") == {"left-pad-fork"}


def test_an_oversized_pnpm_workspace_file_is_never_parsed_for_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size bound holds for the overrides too: the file is reported, not loaded."""
    from lanes.discovery import npm
    from lanes.discovery._source import WorkTree

    files = _workspace({}, {"pnpm-workspace.yaml": "packages: ['packages/*']\n"})
    files["pnpm-workspace.yaml"] += "#" * (npm.MAX_WORKSPACE_BYTES + 1) + "\n"
    repo = make_repo(tmp_path / "repo", files)
    parsed: list[int] = []
    original = npm._pnpm_document

    def recording(text: str) -> object:
        parsed.append(len(text))
        return original(text)

    monkeypatch.setattr(npm, "_pnpm_document", recording)
    tree = WorkTree(str(repo))
    found = npm.parse(tree, npm.locate(tree))
    assert any("larger than" in error.message for error in found.errors)
    assert parsed == []
