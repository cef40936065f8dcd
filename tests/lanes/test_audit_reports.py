"""What a release manager reads: coverage at B from B's tree, misses split into graph, policy
and latent in every format, resolved SHAs, fail-safe reasons, no Python reprs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.lanes.audit_helpers import (
    AUDIT_YML,
    LEGACY_MAP,
    clone_of,
    history_repo,
    lanes,
    lanes_json,
    write_detector,
)
from tests.lanes.fixtures import commit_all, git, write_files

SESSION = "meerkat-session/src/persistent.rs"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The audit history, then a commit whose lockfile bump hides the session gap, a fail-safe
    commit (an unmatched script), and a policy miss (a new workflow file)."""
    repo = history_repo(tmp_path_factory.mktemp("reports"))[0]
    write_files(repo, {SESSION: "// hidden\n", "Cargo.lock": "# bump\n"})
    commit_all(repo, "session fix hidden by a lockfile bump")
    write_files(repo, {"scripts/release.sh": "echo release\n"})
    commit_all(repo, "release script")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return clone_of(template, tmp_path)


def report(repo: Path, tmp_path: Path, audit: str, fmt: str, rev_range: str = "HEAD~8..HEAD"):
    command = f"bash {write_detector(tmp_path)}"
    args = ["audit", audit, rev_range, "--format", fmt, "--against-command", command]
    result = lanes(repo, *args, "--against-map", LEGACY_MAP)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("audit", ["history", "release"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_format_splits_misses_and_shows_latent_gaps_first(
    repo: Path, tmp_path: Path, audit: str, fmt: str
) -> None:
    out = report(repo, tmp_path, audit, fmt)
    if fmt == "markdown":
        out = re.sub(r"\\(.)", r"\1", out)  # Markdown escapes
    base = git(repo, "rev-parse", "HEAD~8").strip()[:10]
    head = git(repo, "rev-parse", "HEAD").strip()[:10]
    assert f"HEAD~8..HEAD ({base}..{head})" in out
    latent, commits = out.index("Latent gaps"), out.index("Commits (")
    assert latent < commits
    assert "meerkat-session" in out[latent:commits]
    assert re.search(r"missed.{0,3}graph", out) and re.search(r"missed.{0,3}policy", out)
    assert "hidden latent" in out
    if fmt == "text":
        assert re.search(r"│ unmatched\s*│ scripts/release.sh", out)
    else:
        assert "fail-safe: unmatched (scripts/release.sh)" in out
    assert "None" not in out and "['" not in out


def test_html_colours_graph_policy_and_latent_apart(repo: Path, tmp_path: Path) -> None:
    out = report(repo, tmp_path, "release", "html")
    rows = re.findall(r"<tr><td><code>[0-9a-f]{10}</code></td>.*?</tr>", out)
    session = next(row for row in rows if "session: fix persistence" in row)
    assert '<span class="bad">sdk</span>' in session  # a graph miss, in red
    hidden = next(row for row in rows if "hidden by a lockfile bump" in row)
    assert '<span class="latent">meerkat-session: ' in hidden
    assert '<table id="latent">' in out and 'class="card latent"' in out


def test_json_latent_summary_and_kinds(repo: Path, tmp_path: Path) -> None:
    command = f"bash {write_detector(tmp_path)}"
    data = lanes_json(
        repo,
        "audit",
        "release",
        "HEAD~8..HEAD",
        "--against-command",
        command,
        "--against-map",
        LEGACY_MAP,
    )
    assert data["base_sha"] == git(repo, "rev-parse", "HEAD~8").strip()
    assert data["head_sha"] == git(repo, "rev-parse", "HEAD").strip()
    gaps = {(g["component"], g["lane"]) for g in data["summary"]["latent_gaps"]}
    assert ("meerkat-session", "sdk") in gaps
    by_subject = {c["subject"]: c for c in data["commits"]}
    assert by_subject["release script"]["failsafe_paths"] == {"unmatched": ["scripts/release.sh"]}


def test_release_coverage_at_b_is_read_from_b_s_tree(repo: Path, tmp_path: Path) -> None:
    """After B, the checked-out tree gains a lane, a crate nothing covers and a stale glob:
    none of them belongs to the coverage at B."""
    b = git(repo, "rev-parse", "HEAD").strip()
    extra_lane = '  late:\n    roots: [meerkat-wasm]\n    paths: ["late/**"]\n'
    write_files(
        repo,
        {
            "lanes.yml": AUDIT_YML.replace("contracts:", extra_lane + "contracts:"),
            "newcrate/Cargo.toml": '[package]\nname = "newcrate"\nversion = "0.1.0"\n',
            "newcrate/src/lib.rs": "\n",
        },
    )
    manifest = (repo / "Cargo.toml").read_text()
    write_files(repo, {"Cargo.toml": manifest.replace("members = [", 'members = ["newcrate", ')})
    commit_all(repo, "after the release")
    data = lanes_json(repo, "audit", "release", f"HEAD~3..{b}")
    coverage = data["coverage"]
    assert "late" not in coverage["lanes"]
    assert "newcrate" not in [row["name"] for row in coverage["matrix"]]
    assert not [g for g in coverage["stale_globs"] if g["pattern"] == "late/**"]
    assert coverage["revision"] == b
    # the checked-out tree does have them
    now = lanes_json(repo, "audit", "coverage")
    assert "late" in now["lanes"] and "newcrate" in [row["name"] for row in now["matrix"]]


def _graph(html: str) -> str:
    start = html.index('<svg id="component-graph"')
    return html[start : html.index("</svg>", start)]


def test_the_release_graph_highlights_only_what_the_range_changed(repo: Path) -> None:
    rest = AUDIT_YML[AUDIT_YML.index("  rest:") : AUDIT_YML.index("contracts:")]
    write_files(repo, {"lanes.yml": AUDIT_YML.replace(rest, "")})  # leaves crates uncovered
    commit_all(repo, "lanes: no catch-all lane")
    write_files(repo, {SESSION: "// once more\n"})
    commit_all(repo, "session again")

    release = lanes(repo, "audit", "release", "HEAD~1..HEAD", "--format", "html")
    coverage = lanes(repo, "audit", "coverage", "--format", "html")

    graph = _graph(release.stdout)
    highlighted = re.findall(r'data-component="([^"]+)"><rect[^>]*fill="#fff1e5"', graph)
    assert highlighted == ["meerkat-session"]
    assert 'stroke="#cf222e"' not in graph  # uncovered components: listed, not outlined here
    assert 'stroke="#cf222e"' in _graph(coverage.stdout)  # the coverage audit outlines them
