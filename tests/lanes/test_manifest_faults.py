"""Manifest faults in real repositories: a manifest lanes cannot use is a fail-safe selection
with a reason code, cold and warm (cached) alike, never an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanes import cache
from lanes.discovery._common import load_toml
from tests.lanes.test_config_faults import CRATES, DETECT, make_repo, run_lanes

LANES = (
    "version: 1\nlanes:\n  app:\n    roots: [app]\n    run: git status\n"
    "  core:\n    roots: [core]\n    run: git status\n"
)
ROOT = '[workspace]\nmembers = ["core", "app"]\n\n[workspace.metadata]\n'
BROKEN_ROOTS = {
    "dotted-key-3000-parts": (ROOT + ".".join(["k"] * 3000) + " = 1\n", 5),
    "nested-arrays": (ROOT + "x = " + "[" * 3000 + "]" * 3000 + "\n", 0),
    "nested-inline-tables": (ROOT + "x = " + "{a = " * 2000 + "1" + "}" * 2000 + "\n", 0),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ROOTS))
def test_a_root_manifest_lanes_cannot_use_fails_safe_cold_and_warm(
    tmp_path: Path, case: str
) -> None:
    text, line = BROKEN_ROOTS[case]
    repo = make_repo(tmp_path, {**CRATES, "Cargo.toml": text, "lanes.yml": LANES})

    for run in ("cold", "warm"):
        code, out, err = run_lanes(repo, *DETECT)
        assert code == 0, (run, err)
        data = json.loads(out)
        assert data["mode"] == "fail-safe", run
        assert sorted(data["selected"]) == ["app", "core"]
        codes = [c for c in data["failsafe"] if c.startswith("manifest-error: Cargo.toml")]
        assert codes, data["failsafe"]
        if line:
            assert codes == [f"manifest-error: Cargo.toml:{line}"]


def test_without_a_config_a_broken_root_manifest_is_an_error_naming_it(tmp_path: Path) -> None:
    text, _ = BROKEN_ROOTS["dotted-key-3000-parts"]
    repo = make_repo(tmp_path, {**CRATES, "Cargo.toml": text})

    code, out, err = run_lanes(repo, *DETECT)

    assert code == 2 and out == ""
    assert "nothing defines a lane" in err and "manifest-error: Cargo.toml:5" in err


def test_a_long_dotted_key_is_refused_before_tomllib_spends_quadratic_time(
    tmp_path: Path,
) -> None:
    (tmp_path / "Cargo.toml").write_text(ROOT + ".".join(["k"] * 20_000) + " = 1\n")

    loaded = load_toml(tmp_path, "Cargo.toml")

    assert loaded.data is None and loaded.error is not None
    assert loaded.error.line == 5
    assert "more than 1000 dots on one line" in loaded.error.message


def test_a_document_too_deep_for_json_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path))
    deep: dict[str, object] = {}
    node = deep
    for _ in range(5000):
        node["k"] = {}
        node = node["k"]  # type: ignore[assignment]

    cache.store_document("deep", deep)

    assert cache.load_document("deep") is None
