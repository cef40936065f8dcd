"""End to end: ``.cargo/config.toml`` ``[patch]`` entries and ``paths`` overrides build a
registry dependency from a repository directory, exactly as the root manifest's ``[patch]``
does, so a change there selects the crates that depend on it (even under ``ignore``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo_semantics import detect, make_repo, package

CONFIG = "version: 1\nignore: ['vendor/**']\nlanes:\n  app:\n    roots: [app]\n    run: 'true'\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".cargo/config.toml", '[patch.crates-io]\nfoo = { path = "vendor/foo" }\n'),
        (".cargo/config", '[patch.crates-io]\nfoo = { path = "vendor/foo" }\n'),
        (".cargo/config.toml", 'paths = ["vendor/foo"]\n'),
    ],
    ids=["patch", "patch-legacy-name", "paths"],
)
def test_a_config_patch_makes_the_directory_a_dependency(
    tmp_path: Path, name: str, text: str
) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/app"]\n',
            "crates/app/Cargo.toml": package("app", '\n[dependencies]\nfoo = "1"\n'),
            "vendor/foo/Cargo.toml": package("foo"),
            name: text,
            "lanes.yml": CONFIG,
        },
    )
    data = detect(repo, "vendor/foo/src/lib.rs")
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["app"]
    assert data["ignored"] == []


def test_a_paths_override_without_a_package_is_fail_safe(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/app"]\n',
            "crates/app/Cargo.toml": package("app"),
            ".cargo/config.toml": 'paths = ["vendor/missing"]\n',
        },
    )
    data = detect(repo, "crates/app/src/lib.rs")
    assert data["mode"] == "fail-safe"
    assert any(
        c.startswith("unresolved-dependency: .cargo/config.toml:1") for c in data["failsafe"]
    )
