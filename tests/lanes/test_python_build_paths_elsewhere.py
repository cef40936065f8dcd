"""End to end: a Python project whose build configuration takes files from outside its own
directory (hatch ``force-include``, setuptools ``package-dir``, maturin ``python-source``, a
readme elsewhere) ships them, so a change to them selects the project's lanes, whoever owns
the directory and whatever ``ignore`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo import detect_json
from tests.lanes.test_cli_npm import make_repo

CONFIG = (
    "version: 1\nignore: ['shared/**', '**/*.md']\nunmatched: none\nlanes:\n"
    "  a:\n    roots: [a]\n    run: 'true'\n  b:\n    roots: [b]\n    run: 'true'\n"
)


def _project(name: str, body: str = "") -> str:
    return f'[project]\nname = "{name}"\nversion = "0.1"\n{body}'


def _repo(tmp_path: Path, body: str) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "packages/a/pyproject.toml": _project("a", body),
            "packages/a/src/a/__init__.py": "\n",
            "packages/b/pyproject.toml": _project("b"),
            "packages/b/src/b/__init__.py": "\n",
            "shared/assets/x.json": "{}\n",
            "shared/README.md": "# a\n",
            "lanes.yml": CONFIG,
        },
    )


def _selected(repo: Path, path: str) -> list[str]:
    data = detect_json(repo, "--paths-from-stdin", stdin=f"{path}\n".encode())
    assert data["mode"] == "precise", data["failsafe"]
    return list(data["selected"])


@pytest.mark.parametrize(
    ("body", "path", "expected"),
    [
        (
            '[tool.hatch.build.targets.wheel.force-include]\n"../b/src/b" = "a/_b"\n',
            "packages/b/src/b/__init__.py",
            ["a", "b"],
        ),
        (
            '[tool.hatch.build.force-include]\n"../../shared/assets" = "a/assets"\n',
            "shared/assets/x.json",
            ["a"],
        ),
        ('[tool.setuptools.package-dir]\n"" = "../../shared"\n', "shared/assets/x.json", ["a"]),
        (
            '[tool.maturin]\npython-source = "../b/src"\n',
            "packages/b/src/b/__init__.py",
            ["a", "b"],
        ),
        ('readme = "../../shared/README.md"\n', "shared/README.md", ["a"]),
        ('readme = "../../shared/notes v1].md"\n', "shared/notes v1].md", ["a"]),
        ('readme = "../../shared/notes [v1]*.md"\n', "shared/notes [v1]*.md", ["a"]),
    ],
    ids=[
        "force-include-member",
        "force-include-ignored",
        "package-dir",
        "maturin",
        "readme",
        "readme-bracket",
        "readme-glob-characters",
    ],
)
def test_a_build_input_outside_the_project_selects_it(
    tmp_path: Path, body: str, path: str, expected: list[str]
) -> None:
    repo = _repo(tmp_path, body)
    assert _selected(repo, path) == expected
    assert _selected(repo, "packages/b/pyproject.toml") == ["b"]
