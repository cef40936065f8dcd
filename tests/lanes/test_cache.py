"""The on-disk caches: keyed by content, so an edit is never served stale."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lanes.discovery._common import load_toml_cached


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("LANES_CACHE_DIR", str(directory))
    return directory


def test_root_manifest_is_served_from_the_cache_and_follows_edits(
    tmp_path: Path, cache_dir: Path
) -> None:
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    first = load_toml_cached(tmp_path, "Cargo.toml")
    assert first.data == {"workspace": {"members": ["a"]}}
    assert len(list((cache_dir / "documents").glob("*.json"))) == 1
    assert load_toml_cached(tmp_path, "Cargo.toml").data == first.data
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["b"]\n')
    assert load_toml_cached(tmp_path, "Cargo.toml").data == {"workspace": {"members": ["b"]}}


def test_documents_json_cannot_represent_are_not_cached(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.x]\nwhen = 2026-01-01\n")
    loaded = load_toml_cached(tmp_path, "pyproject.toml")
    assert loaded.data is not None and str(loaded.data["tool"]["x"]["when"]) == "2026-01-01"
    assert not list((cache_dir / "documents").glob("*.json"))


def test_invalid_manifest_is_reported_not_cached(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "Cargo.toml").write_text("[workspace\n")
    loaded = load_toml_cached(tmp_path, "Cargo.toml")
    assert loaded.data is None and loaded.error is not None and loaded.error.line == 1
    assert not (cache_dir / "documents").exists()


def test_warm_detect_does_not_import_yaml_toml_or_networkx(tmp_path: Path) -> None:
    """Nor GitPython: listed paths need no git (``import git`` alone costs ~70 ms)."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "Cargo.toml").write_text('[workspace]\nmembers = ["core"]\n')
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "Cargo.toml").write_text('[package]\nname = "core"\n')
    (tmp_path / "lanes.yml").write_text("version: 1\nlanes:\n  unit: {roots: [core]}\n")
    probe = (
        "import sys, io\n"
        "from lanes.cli import main\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'core/src/lib.rs\\n'))\n"
        "code = main(['detect', '--paths-from-stdin', '--format', 'json'])\n"
        "heavy = ('yaml', 'tomllib', 'networkx', 'rich', 'git')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = [sys.executable, "-c", probe]
    subprocess.run(run, cwd=tmp_path, check=True, capture_output=True)  # cold: fills the caches
    warm = subprocess.run(run, cwd=tmp_path, check=True, capture_output=True, text=True)
    assert warm.stdout.strip().splitlines()[-1] == "[]", warm.stdout


def test_several_index_revisions_stay_cached(tmp_path: Path, cache_dir: Path) -> None:
    """A history audit judges commits with several lanes.yml revisions: each index stays."""
    from lanes import cache
    from lanes.workspace import load_workspace

    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    repo = tmp_path / "repo"
    (repo / "Cargo.toml").write_text('[workspace]\nmembers = ["a"]\n')
    (repo / "a").mkdir()
    (repo / "a" / "Cargo.toml").write_text('[package]\nname = "a"\n')
    configs = []
    for number in range(cache.KEEP_ENTRIES + 1):
        config = tmp_path / f"lanes-{number}.yml"
        config.write_text(f"# revision {number}\nversion: 1\nlanes:\n  l:\n    roots: [a]\n")
        configs.append(config)
        assert not load_workspace(repo, config).cache_hit
    assert len(list(cache_dir.glob("index-*.json"))) == cache.KEEP_ENTRIES
    assert load_workspace(repo, configs[-1]).cache_hit
    assert load_workspace(repo, configs[-2]).cache_hit
    assert not load_workspace(repo, configs[0]).cache_hit
