"""Listed paths git would never report: their prefix must not decide their owner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanes.engine import unclear_path
from lanes.pathlist import paths_from_stream
from tests.lanes.test_config_faults import DETECT, make_repo, run_lanes

ALL = ["app", "core"]


@pytest.mark.parametrize(
    ("path", "selected", "failsafe"),
    [
        ("app/../core/src/lib.rs", ALL, ["unclear-path"]),
        ("core/../app/src/main.rs", ALL, ["unclear-path"]),
        ("app/src/../../core/x.rs", ALL, ["unclear-path"]),
        ("../outside.rs", ALL, ["unclear-path"]),
        ("/etc/passwd", ALL, ["unclear-path"]),
        ("app/src/", ALL, ["unclear-path"]),
        ("app/./src/main.rs", ["app"], []),
        ("app//src/main.rs", ["app"], []),
        ("./app/src/main.rs", ["app"], []),
        ("app/..cfg", ["app"], []),
        ("app/.hidden/x", ["app"], []),
    ],
)
def test_a_listed_path_with_dot_dot_fails_safe(
    tmp_path: Path, path: str, selected: list[str], failsafe: list[str]
) -> None:
    repo = make_repo(tmp_path)

    code, out, err = run_lanes(repo, *DETECT, stdin=f"{path}\n")

    assert code == 0, err
    data = json.loads(out)
    assert sorted(data["selected"]) == selected
    assert data["failsafe"] == failsafe
    if failsafe:
        assert data["mode"] == "fail-safe"
        assert {"code": "unclear-path", "path": path} in data["reasons"]["core"]


def test_explain_does_not_attribute_a_dot_dot_path_to_its_prefix(tmp_path: Path) -> None:
    # explain resolves what the user typed against the file system (as a shell would), so the
    # `..` is followed, never cut off at the prefix `app/`.
    repo = make_repo(tmp_path)

    code, out, _ = run_lanes(repo, "explain", "app/../core/src/lib.rs")

    assert code == 0
    assert out.splitlines()[0] == "core/src/lib.rs: matched, owned by core (directory core/)"


def test_listed_paths_drop_only_what_cannot_change_their_meaning() -> None:
    change = paths_from_stream(b"./a/./b//c\na/../b\n")
    assert change.paths == ["a/../b", "a/b/c"]
    assert unclear_path("a/../b") and not unclear_path("a/b/c")
