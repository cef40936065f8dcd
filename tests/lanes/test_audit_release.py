"""``lanes audit release``: JSON, Markdown (step summary limit), HTML (escaping, Chromium)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from lanes.audit.history import CommitAudit, Finding, HistorySummary
from lanes.audit.layout import layers, layout
from lanes.audit.render_markdown import history as markdown_history
from lanes.engine import Reason
from lanes.outputs.markdown import MAX_SUMMARY_BYTES
from tests.lanes.audit_helpers import (
    HISTORY,
    LEGACY_MAP,
    history_repo,
    lanes,
    lanes_json,
    write_detector,
)
from tests.lanes.fixtures import CARGO_CRATES, commit_all, git, write_files

CHROMIUM = Path("/usr/bin/chromium")
RANGE = f"HEAD~{len(HISTORY)}..HEAD"
HOSTILE_SUBJECT = "sdk: <script>alert('subject')</script> & \"quotes\""
HOSTILE_PATH = "sdks/<img src=x onerror=alert(1)>.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return history_repo(tmp_path_factory.mktemp("release"))[0]


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(template), str(clone))
    return clone


def release(repo: Path, tmp_path: Path, fmt: str, *extra: str) -> str:
    script = write_detector(tmp_path)
    out = tmp_path / f"release.{fmt}"
    args = ["audit", "release", RANGE, "--format", fmt, "--output", str(out)]
    args += ["--against-command", f"bash {script}", "--against-map", LEGACY_MAP, *extra]
    result = lanes(repo, *args)
    assert result.returncode == 0, result.stderr
    return out.read_text("utf-8")


def test_release_json_holds_commits_findings_coverage_and_contracts(
    repo: Path, tmp_path: Path
) -> None:
    script = write_detector(tmp_path)
    data = lanes_json(
        repo,
        "audit",
        "release",
        RANGE,
        "--against-command",
        f"bash {script}",
        "--against-map",
        LEGACY_MAP,
    )
    assert [c["subject"] for c in data["commits"]] == [s for s, _ in reversed(HISTORY)]
    assert data["summary"]["under_triggered"] == 1
    assert data["lanes_selected"] == ["sdk", "minimal", "feature", "wasm", "rest"]
    assert "meerkat-session" in data["changed_components"]
    assert data["coverage"]["conditions"] == dict.fromkeys(
        ("uncovered", "stale", "dead", "contracts"), False
    )
    assert data["coverage"]["revision"] == "HEAD"
    assert data["coverage"]["contracts"][0]["ok"] is True


def test_release_fail_on_combines_history_and_coverage(repo: Path, tmp_path: Path) -> None:
    script = write_detector(tmp_path)
    args = ["audit", "release", RANGE, "--against-command", f"bash {script}"]
    args += ["--against-map", LEGACY_MAP, "--format", "json"]
    assert lanes(repo, *args, "--fail-on", "missed").returncode == 1
    assert lanes(repo, *args, "--fail-on", "stale,dead,uncovered,contracts,extra").returncode == 0


def test_release_markdown_names_the_under_triggered_commit(repo: Path, tmp_path: Path) -> None:
    text = release(repo, tmp_path, "markdown")
    assert text.startswith("## Release audit")
    row = next(line for line in text.splitlines() if "fix persistence" in line)
    assert "**sdk** ←" in row and "persistent.rs" in row
    assert "### Coverage matrix" in text
    assert len(text.encode()) < MAX_SUMMARY_BYTES


def _commit(number: int) -> CommitAudit:
    reason = Reason("dependency", f"crate{number}/src/lib.rs", "directory", "crate", ())
    return CommitAudit(
        sha=f"{number:040x}",
        subject="a long subject " * 20,
        changed_paths=1,
        components=[f"crate{number}"],
        mode="precise",
        selected=["sdk"],
        why={"sdk": reason},
        failsafe=[],
        against=[],
        missed=[Finding("sdk", (f"crate{number}/src/lib.rs",))],
    )


def test_markdown_stays_under_the_step_summary_limit_and_says_so() -> None:
    commits = [_commit(n) for n in range(10_000)]
    summary = HistorySummary("A..B", "command legacy")
    for commit in commits:
        summary.add(commit)
    text = markdown_history(commits, summary)
    assert MAX_SUMMARY_BYTES - 10_000 < len(text.encode("utf-8")) <= MAX_SUMMARY_BYTES
    assert re.search(r"truncated: \d+ more commits not shown", text)
    assert text.rstrip().endswith("limit)_")
    assert "under-triggered commits: **10000**" in text


def test_html_escapes_every_repository_controlled_string(repo: Path, tmp_path: Path) -> None:
    write_files(repo, {HOSTILE_PATH: "x = 1\n"})
    commit_all(repo, HOSTILE_SUBJECT)
    page = release(repo, tmp_path, "html").replace(RANGE, "R")
    assert "<script" not in page and "<img" not in page
    assert (
        "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    )
    assert "sdks/&lt;img src=x onerror=alert(1)&gt;.py" in page
    external = re.findall(r"(?:src|href)\s*=\s*[\"']?(?!#)[a-z]+:", page)
    assert external == []
    assert re.findall(r"https?://[^\"' ]+", page) == ["http://www.w3.org/2000/svg"] * 2


def test_layers_put_dependents_above_dependencies_and_cycles_side_by_side() -> None:
    edges = [("app", "lib"), ("lib", "core"), ("core", "lib"), ("app", "util"), ("util", "core")]
    assert layers(["app", "lib", "core", "util"], edges) == [["app"], ["util"], ["core", "lib"]]
    drawn = layout(["app", "lib", "core", "util"], [(s, t, "normal", False) for s, t in edges])
    assert drawn.boxes["app"].y < drawn.boxes["util"].y < drawn.boxes["core"].y
    assert drawn.boxes["core"].y == drawn.boxes["lib"].y
    assert all(box.x >= 0 and box.x + box.width <= drawn.width for box in drawn.boxes.values())


def test_a_wide_layer_wraps_into_rows_within_the_width() -> None:
    names = [f"component-with-a-long-name-{n}" for n in range(40)]
    drawn = layout(names, [], max_width=1300.0)
    assert drawn.width <= 1300.0
    assert len({box.y for box in drawn.boxes.values()}) > 1


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_the_release_html_renders_in_headless_chromium(repo: Path, tmp_path: Path) -> None:
    page = tmp_path / "release.html"
    page.write_text(release(repo, tmp_path, "html"), encoding="utf-8")
    screenshot = tmp_path / "release.png"
    profile = tmp_path / "chromium-profile"
    flags = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    url = page.as_uri()
    subprocess.run(
        [*flags, f"--screenshot={screenshot}", "--window-size=1400,1000", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    assert int.from_bytes(data[16:20], "big") == 1400
    dom = subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    matrix = dom[dom.index('id="coverage-matrix"') :]
    matrix = matrix[: matrix.index("</svg>")]
    assert len(re.findall(r'class="cell"', matrix)) == (len(CARGO_CRATES) + 1) * 5
    assert matrix.count('class="matrix-row"') == len(CARGO_CRATES) + 1
    graph = dom[dom.index('id="component-graph"') :]
    assert graph[: graph.index("</svg>")].count('class="node"') == len(CARGO_CRATES) + 1
