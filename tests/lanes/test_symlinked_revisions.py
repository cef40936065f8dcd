"""A tracked symbolic link inside a component reads what it points at in graphs built from a
git revision too: the release audit's coverage at B and its commits, the history audit's graph
at each commit (fresh, and from its cache) and the base graph
of ``lanes detect --base``. At a revision a link is a blob of mode 120000, which the work tree's
``readlink`` never sees."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lanes.workspace import link_targets
from tests.lanes.audit_helpers import by_subject, lanes_json
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo import detect_json
from tests.lanes.test_symlinked_sources import _repo


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, str]:
    """The links repository and its first commit, with two commits behind the links on top:
    one to a file of b that a's ``gen.rs`` links to, one to a file of an ignored directory
    that a's ``schema.rs`` links to."""
    repo = _repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"crates/b/data/gen.rs": "pub fn g() {}\n// changed\n"})
    commit_all(repo, "b: behind a's link")
    write_files(repo, {"generated/schema.rs": "// regenerated\n"})
    commit_all(repo, "generated: behind a's link")
    return repo, base


def _selected(data: dict[str, Any]) -> dict[str, list[str]]:
    return {subject: commit["selected"] for subject, commit in by_subject(data).items()}


EXPECTED = {"b: behind a's link": ["a", "b"], "generated: behind a's link": ["a"]}


def test_the_link_targets_of_a_revision_are_the_work_trees(history: tuple[Path, str]) -> None:
    from lanes.discovery._revision import RevisionTree
    from lanes.discovery._source import WorkTree

    repo, base = history
    at_base = link_targets(RevisionTree(repo, base))
    assert at_base == link_targets(WorkTree(repo))
    assert dict(at_base.targets) == {
        "crates/a/src/gen.rs": "crates/b/data/gen.rs",
        "crates/a/src/proto": "crates/b/proto/**",
        "crates/a/src/schema.rs": "generated/schema.rs",
    }


def test_history_judges_each_commit_with_the_links_at_that_commit(
    history: tuple[Path, str],
) -> None:
    repo, base = history
    cold = lanes_json(repo, "audit", "history", f"{base}..HEAD")
    assert _selected(cold) == EXPECTED
    assert cold["summary"]["graph"] == "per-commit"
    warm = lanes_json(repo, "audit", "history", f"{base}..HEAD")  # graphs from the cache
    assert _selected(warm) == EXPECTED


def test_release_coverage_at_b_and_its_commits_follow_the_links(history: tuple[Path, str]) -> None:
    repo, base = history
    git(repo, "checkout", "-q", base)  # the report is about B's tree, not the checked-out one
    os.unlink(repo / "crates/a/src/schema.rs")  # nor the work tree's links
    head = git(repo, "rev-parse", "main").strip()
    data = lanes_json(repo, "audit", "release", f"{base}..{head}")
    assert data["lanes_selected"] == ["a", "b"]
    assert _selected(data) == EXPECTED
    coverage = data["coverage"]
    assert "generated/schema.rs" not in coverage["ignored"]  # a builds it
    # a's own six files (Cargo.toml, lib.rs and its four links) and the three behind the links
    assert coverage["lane_files"]["a"] == 9


def test_a_history_graph_cached_without_link_readers_is_not_reused(
    history: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Graphs cached before revisions had link readers lack them: the cache format moved on."""
    import json

    from lanes.audit import graph_at, tree_at
    from lanes.cli import main

    repo, base = history
    with monkeypatch.context() as old:  # the previous format: revision graphs without readers
        old.setattr(graph_at, "CACHE_FORMAT", "graph-at-v1")
        old.setattr(tree_at, "link_readers", lambda _tree, index: index)
        old.setenv("LANES_CACHE_DIR", str(repo / ".git" / "audit-cache"))
        old.chdir(repo)
        assert main(["audit", "history", f"{base}..HEAD", "--format", "json"]) == 0
    stale = json.loads(capsys.readouterr().out)
    assert _selected(stale) == {"b: behind a's link": ["b"], "generated: behind a's link": []}
    data = lanes_json(repo, "audit", "history", f"{base}..HEAD")
    assert _selected(data) == EXPECTED


def _retargeted(tmp_path: Path) -> tuple[Path, str]:
    """a links to b's ``current``, itself a link inside b to ``v1``; the change retargets
    ``current`` to ``v2`` and edits ``v1``, which a built at the base."""
    from tests.lanes.test_cli_cargo_semantics import make_repo, package

    repo = make_repo(
        tmp_path / "retarget",
        {
            "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/a", "crates/b"]\n',
            "crates/a/Cargo.toml": package("a"),
            "crates/a/src/lib.rs": "mod gen;\n",
            "crates/b/Cargo.toml": package("b"),
            "crates/b/v1/x.rs": "pub fn v1() {}\n",
            "crates/b/v2/x.rs": "pub fn v2() {}\n",
            "lanes.yml": (
                "version: 1\nunmatched: none\nlanes:\n"
                "  a:\n    roots: [a]\n    run: 'true'\n  b:\n    roots: [b]\n    run: 'true'\n"
            ),
        },
    )
    os.symlink("v1", repo / "crates/b/current")
    os.symlink("../../b/current", repo / "crates/a/src/gen")
    base = commit_all(repo, "links")
    os.unlink(repo / "crates/b/current")
    os.symlink("v2", repo / "crates/b/current")
    write_files(repo, {"crates/b/v1/x.rs": "pub fn v1() {}\n// changed\n"})
    commit_all(repo, "b: current is v2 now; v1 changed")
    return repo, base


def test_detect_base_resolves_against_the_base_graphs_link_readers(tmp_path: Path) -> None:
    repo, base = _retargeted(tmp_path)
    data = detect_json(repo, "--base", base)
    assert data["mode"] == "precise", data["failsafe"]
    assert data["selected"] == ["a", "b"]
    reasons = {r["path"]: r for r in data["reasons"]["a"] if r["code"] == "dependency"}
    assert set(reasons) == {"crates/b/v1/x.rs", "crates/b/current"}, reasons
    assert reasons["crates/b/v1/x.rs"].get("graph") == "base"  # what a built at the base
    assert data["diff"]["graphs"] == "base and head"


def _detect_paths(repo: Path, paths: list[str]) -> dict[str, Any]:
    stdin = "".join(f"{path}\n" for path in paths).encode()
    return detect_json(repo, "--paths-from-stdin", stdin=stdin)


def test_retargeting_a_link_in_the_middle_of_a_chain_selects_the_chains_owner(
    tmp_path: Path,
) -> None:
    """Only ``crates/b/current`` changes (``v1`` to ``v2``): what a's link reads through it
    changed, so a runs, from the head graph alone (paths on stdin) and with ``--base``."""
    repo, base = _retargeted(tmp_path)
    git(repo, "checkout", "-q", "HEAD^", "--", "crates/b/v1/x.rs")
    commit_all(repo, "v1 as it was: only the link changed")
    changed = git(repo, "diff", "--name-only", base, "HEAD").split()
    assert changed == ["crates/b/current"]
    assert _detect_paths(repo, changed)["selected"] == ["a", "b"]
    assert detect_json(repo, "--base", base)["selected"] == ["a", "b"]


def test_a_link_whose_target_was_deleted_still_selects_its_owner(tmp_path: Path) -> None:
    """The change deletes what a's links point at (a directory, and the middle link of a
    chain): a's links dangle in the head graph, and a must still run, from the head graph
    alone."""
    repo, _base = _retargeted(tmp_path)
    os.symlink("../../b/v1", repo / "crates/a/src/direct")
    commit_all(repo, "a: a direct link to v1 too")
    git(repo, "rm", "-q", "-r", "crates/b/v1", "crates/b/current")
    commit_all(repo, "b: v1 and current deleted")
    for paths in (["crates/b/v1/x.rs"], ["crates/b/current"]):
        assert _detect_paths(repo, paths)["selected"] == ["a", "b"], paths


READER_DETECTOR = """\
#!/usr/bin/env bash
# Lists kept by hand: a's directory runs a, b's runs b; a tools change runs everything.
a=false; b=false
while IFS= read -r path; do
  case "$path" in
    crates/a/*) a=true ;;
    crates/b/*) b=true ;;
    tools/*) a=true; b=true ;;
  esac
done
echo "a=$a"
echo "b=$b"
"""


def test_history_attributes_a_path_to_the_components_that_read_it(tmp_path: Path) -> None:
    """A changed file counts for the components that read it, besides its owner: among the
    commit's components and in the per-component questions, so the detector's gap behind a's
    links is a latent gap of a, even where a tools change made it run a anyway."""
    repo = _repo(tmp_path)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"crates/b/data/gen.rs": "// changed\n", "tools/release.sh": "true\n"})
    hidden = commit_all(repo, "behind the link, with a tools change")
    write_files(repo, {"generated/schema.rs": "// regenerated\n"})
    missed = commit_all(repo, "behind the link alone")
    detector = tmp_path / "detect.sh"
    detector.write_text(READER_DETECTOR)
    data = lanes_json(
        repo, "audit", "history", f"{base}..HEAD", "--against-command", f"bash {detector}"
    )
    commits = by_subject(data)
    first, second = (
        commits["behind the link, with a tools change"],
        commits["behind the link alone"],
    )
    assert first["components"] == ["a", "b"] and second["components"] == ["a"]
    assert (first["missed"], second["missed_graph"]) == ([], ["a"])
    assert first["latent"] == [
        {"component": "a", "lane": "a", "path": "crates/b/data/gen.rs", "hidden": True}
    ]
    assert second["latent"] == [
        {"component": "a", "lane": "a", "path": "generated/schema.rs", "hidden": False}
    ]
    gaps = data["summary"]["latent_gaps"]
    assert [(g["component"], g["lane"], g["commits"], g["hidden"]) for g in gaps] == [
        ("a", "a", 2, 1)
    ]
    assert (gaps[0]["first"], gaps[0]["last"]) == (hidden, missed)
