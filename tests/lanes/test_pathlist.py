"""Changed paths given as a list: ``lanes.pathlist``."""

from __future__ import annotations

from lanes.model import ChangeSet
from lanes.pathlist import paths_from_stream


def assert_precise(changes: ChangeSet, paths: list[str]) -> None:
    assert changes.uncertain is None, changes.detail
    assert changes.paths == paths


def test_paths_from_stream_newline_separated() -> None:
    changes = paths_from_stream(b"./core/lib.rs\nsdk/main.rs\r\n\n././docs/a b.md\ncore/lib.rs\n")

    assert_precise(changes, ["core/lib.rs", "docs/a b.md", "sdk/main.rs"])
    assert changes.basis["method"] == "stdin"
    assert changes.basis["separator"] == "newline"


def test_paths_from_stream_nul_separated_keeps_newlines_in_names() -> None:
    changes = paths_from_stream(b"core/x\nsdk=false\0./caf\xe9.txt\0\0", method="file")

    assert_precise(changes, ["caf\udce9.txt", "core/x\nsdk=false"])
    assert changes.basis["method"] == "file"
    assert changes.basis["separator"] == "nul"


def test_paths_from_empty_stream_is_empty() -> None:
    assert_precise(paths_from_stream(b""), [])


def test_paths_from_stream_drops_crlf_and_dot_slash_before_deduplicating() -> None:
    changes = paths_from_stream(b"a.rs\r\n./a.rs\n././a.rs\r\nb.rs")

    assert_precise(changes, ["a.rs", "b.rs"])


def test_a_lone_dot_slash_is_not_a_path() -> None:
    assert_precise(paths_from_stream(b"./\n\n\r\n"), [])
