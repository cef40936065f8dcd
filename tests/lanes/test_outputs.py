from __future__ import annotations

import json

import pytest

from lanes.config_load import parse_config
from lanes.engine import Rules, Selection, select
from lanes.graph import build_index
from lanes.model import Discovery
from lanes.outputs import github, json_, markdown
from tests.lanes.test_cli_cargo import parse_github_output

CONFIG = """\
version: 1
components:
  core: {paths: ["core/**"]}
lanes:
  sdk: {roots: [core], run: "nox -s 'lane(sdk)'"}
  docs: {paths: ["docs/**"]}
"""


def selection_for(*paths: str) -> Selection:
    config = parse_config(CONFIG)
    return select(paths, Rules.from_config(config), build_index(config, Discovery()))


def runs() -> dict[str, str | None]:
    return {"sdk": "nox -s 'lane(sdk)'", "docs": None}


def test_a_path_with_a_newline_cannot_forge_an_output() -> None:
    text = github.render(selection_for("core/x\nsdk=false", "core/y\ndocs=true"), runs())
    parsed = parse_github_output(text)
    assert parsed["sdk"] == "true" and parsed["docs"] == "false"
    assert set(parsed) == {
        *("sdk", "docs", "lanes", "flags", "count", "matrix", "mode", "reasons", "diff")
    }
    assert json.loads(parsed["reasons"])["sdk"][0]["path"] == "core/x\nsdk=false"


def test_flags_and_count_are_usable_from_workflow_expressions() -> None:
    parsed = parse_github_output(github.render(selection_for("core/a.rs"), runs()))
    assert json.loads(parsed["flags"]) == {"sdk": True, "docs": False}
    assert parsed["count"] == "1"
    assert json.loads(parsed["reasons"])["sdk"][0]["code"] == "dependency"
    everything = parse_github_output(github.render(selection_for("core/a", "docs/b"), runs()))
    assert json.loads(everything["flags"]) == {"sdk": True, "docs": True}
    assert everything["count"] == "2"
    nothing = parse_github_output(github.render(selection_for(), runs()))
    assert (nothing["count"], nothing["lanes"]) == ("0", "[]")


def test_delimiter_never_occurs_in_the_value() -> None:
    value = "LANES_EOF_" + "0" * 32
    entry = github.entry("lanes", value)
    delimiter = entry.split("\n", 1)[0].split("<<", 1)[1]
    assert delimiter not in value and entry.endswith(f"\n{delimiter}\n")


def test_unsafe_output_names_are_rejected_or_sanitised() -> None:
    with pytest.raises(ValueError):
        github.entry("a=b", "x")
    assert github.output_name("@acme/sdk") == "_acme_sdk"


def test_matrix_is_usable_with_fromjson() -> None:
    data = json_.as_data(selection_for("core/a.rs"), runs())
    assert data["matrix"] == {"include": [{"lane": "sdk", "run": "nox -s 'lane(sdk)'"}]}
    assert data["selected"] == ["sdk"] and data["lanes"] == {"sdk": True, "docs": False}


def test_markdown_escapes_repository_text_and_respects_the_limit() -> None:
    text = markdown.render(selection_for("core/<img src=x onerror=alert(1)>|`x`"))
    assert "<img" not in text.replace("\\<", "") and "\\<img" in text
    assert markdown.truncate("x" * 2_000_000).endswith("summary limit)_\n")
    assert len(markdown.truncate("é" * 1_000_000).encode()) <= markdown.MAX_SUMMARY_BYTES
