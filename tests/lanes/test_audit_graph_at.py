"""``lanes audit history`` judges each commit with the dependency graph at that commit: real git
histories in which an edge appears, a component is deleted and a manifest breaks; the graphs'
memo and cross-run cache counted through the ``workspace_at`` seam."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from lanes.audit import gitsource
from lanes.audit.graph_at import GraphAtCommit
from lanes.audit.history import HistorySummary, replay
from lanes.audit.tree_at import workspace_at
from lanes.git.commits import iter_raw_changes
from lanes.workspace import Workspace, load_workspace
from tests.lanes.audit_helpers import by_subject, clone_of, lanes, lanes_json
from tests.lanes.fixtures import commit_all, git, write_files

LANES_YML = """\
version: 1
lanes:
  alpha:
    roots: [a]
  beta:
    roots: [b]
  gamma:
    roots: [c]
"""
WITHOUT_GAMMA = LANES_YML.split("  gamma:")[0]


def manifest(name: str, *deps: str) -> str:
    lines = "".join(f'{dep} = {{ path = "../{dep}" }}\n' for dep in deps)
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\n\n[dependencies]\n{lines}'


def crate(name: str, *deps: str) -> dict[str, str]:
    return {f"crates/{name}/Cargo.toml": manifest(name, *deps), f"crates/{name}/src/lib.rs": ""}


def init(root: Path) -> tuple[Path, str]:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    files = {"Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n', "lanes.yml": LANES_YML}
    write_files(repo, {**files, **crate("a"), **crate("b"), **crate("c")})
    return repo, commit_all(repo, "import")


#: subject -> changed files of the edge/deletion history, oldest first (None deletes crates/c).
STEPS: tuple[tuple[str, dict[str, str] | None], ...] = (
    ("1 b before the edge", {"crates/b/src/lib.rs": "// 1\n"}),
    ("2 c still here", {"crates/c/src/lib.rs": "// 2\n"}),
    ("3 a depends on b", {"crates/a/Cargo.toml": manifest("a", "b")}),
    ("4 b after the edge", {"crates/b/src/lib.rs": "// 4\n"}),
    ("4b c last change", {"crates/c/src/lib.rs": "// 4b\n"}),
    ("5 delete c", None),
    ("6 b after the deletion", {"crates/b/src/lib.rs": "// 6\n"}),
    ("7 broken b manifest", {"crates/b/Cargo.toml": "[package\nname = \n"}),
    ("8 b fixed", {"crates/b/Cargo.toml": manifest("b"), "crates/b/src/lib.rs": "// 8\n"}),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, _ = init(tmp_path_factory.mktemp("graphs"))
    for subject, files in STEPS:
        if files is None:
            shutil.rmtree(repo / "crates" / "c")
            write_files(repo, {"lanes.yml": WITHOUT_GAMMA})
        else:
            write_files(repo, files)
        commit_all(repo, subject)
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return clone_of(template, tmp_path)


def history(repo: Path, *extra: str) -> dict[str, dict[str, Any]]:
    return by_subject(lanes_json(repo, "audit", "history", "HEAD~9..HEAD", *extra))


def test_commits_before_an_edge_are_judged_without_it_and_after_with_it(repo: Path) -> None:
    commits = history(repo)

    assert commits["1 b before the edge"]["selected"] == ["beta"]
    assert commits["1 b before the edge"]["mode"] == "precise"
    assert commits["4 b after the edge"]["selected"] == ["alpha", "beta"]
    assert commits["6 b after the deletion"]["selected"] == ["alpha", "beta"]
    # the checked-out graph (edge present) would give the first commit alpha too
    fixed = history(repo, "--fixed-graph", "--fixed-config")
    assert fixed["1 b before the edge"]["selected"] == ["alpha", "beta"]
    assert fixed["1 b before the edge"]["graph"] == "checked out"


def test_a_deleted_component_s_last_commits_are_judged_with_it(repo: Path) -> None:
    commits = history(repo)

    last = commits["4b c last change"]
    assert (last["mode"], last["selected"], last["components"]) == ("precise", ["gamma"], ["c"])
    assert commits["2 c still here"]["selected"] == ["gamma"]
    # with today's graph crates/c is nobody's: the commit would fail safe as unmatched
    fixed = history(repo, "--fixed-graph", "--fixed-config")["4b c last change"]
    assert fixed["components"] == [] and "gamma" not in fixed["selected"]


def test_a_broken_manifest_at_a_commit_is_fail_safe_with_its_reason(repo: Path) -> None:
    commits = history(repo)

    broken = commits["7 broken b manifest"]
    assert broken["mode"] == "fail-safe"
    assert broken["selected"] == ["alpha", "beta"]
    codes = [code for code in broken["failsafe"] if code.startswith("manifest-error")]
    assert codes and "crates/b/Cargo.toml" in codes[0]
    assert broken["failsafe_paths"][codes[0]] == ["crates/b/Cargo.toml"]
    assert commits["8 b fixed"]["mode"] == "precise"


def test_records_name_the_graph_that_judged_them(repo: Path) -> None:
    data = lanes_json(repo, "audit", "history", "HEAD~9..HEAD")
    commits = by_subject(data)

    ids = {subject: commit["graph_id"] for subject, commit in commits.items()}
    assert ids["1 b before the edge"] == ids["2 c still here"]  # no discovery input changed
    assert ids["2 c still here"] != ids["3 a depends on b"]  # a manifest changed
    assert ids["3 a depends on b"] == ids["4 b after the edge"]
    assert ids["8 b fixed"] == ids["6 b after the deletion"]  # the same manifests again
    assert len(set(ids.values())) == data["summary"]["graphs"] == 4
    first = commits["1 b before the edge"]
    assert first["graph"] == f"at {first['sha'][:10]}" and first["graph_note"] is None
    assert data["summary"]["graph"] == "per-commit"
    text = lanes(repo, "audit", "history", "HEAD~9..HEAD")
    assert text.returncode == 0, text.stderr
    assert ids["1 b before the edge"][:8] in text.stdout and "graph per-commit" in text.stdout
    for fmt in ("markdown", "html"):
        shown = lanes(repo, "audit", "history", "HEAD~9..HEAD", "--format", fmt)
        assert shown.returncode == 0, shown.stderr
        assert ids["1 b before the edge"][:8] in shown.stdout


def test_a_commit_whose_graph_cannot_be_read_is_fail_safe_with_the_reason(repo: Path) -> None:
    """The blob of a manifest at one commit is gone from the object store: git cannot read
    that commit's tree, so it is judged fail-safe, never with another commit's graph."""
    sha = git(repo, "rev-parse", "HEAD~6").strip()  # "3 a depends on b"
    blob = git(repo, "rev-parse", f"{sha}:crates/a/Cargo.toml").strip()
    git(repo, "repack", "-a", "-d", "-q")
    for pack in (repo / ".git" / "objects" / "pack").glob("*.pack"):
        data = pack.read_bytes()
        pack.unlink()
        pack.with_suffix(".idx").unlink()
        git(repo, "unpack-objects", "-q", stdin=data)
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()

    summary = HistorySummary("HEAD~9..HEAD", None)
    commits = {audit.subject: audit for audit in _replay(repo, "HEAD~9..HEAD", summary)[0]}

    broken = commits["3 a depends on b"]
    assert broken.mode == "fail-safe" and "graph-unavailable" in broken.failsafe
    assert broken.graph.startswith("unavailable")
    assert broken.graph_note and blob[:7] in broken.graph_note
    assert broken.failsafe_paths["graph-unavailable"] == [broken.graph_note]
    assert commits["1 b before the edge"].mode == "precise"


# --------------------------------------------------------------------------- cost


class CountingLoad:
    """The real ``workspace_at``, counted: the observable number of workspaces built."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @contextmanager
    def __call__(
        self, repo: Path, rev: str, config_path: str | None, explicit: Path | None = None
    ) -> Iterator[Workspace]:
        self.calls.append(rev)
        with workspace_at(repo, rev, config_path, explicit) as workspace:
            yield workspace


def _replay(
    repo: Path, rev_range: str, summary: HistorySummary, *, use_cache: bool = False
) -> tuple[list[Any], CountingLoad, GraphAtCommit]:
    fixed = load_workspace(repo, use_cache=False)
    load = CountingLoad()
    graphs = GraphAtCommit(fixed, "lanes.yml", repo / "lanes.yml", use_cache=use_cache, load=load)
    commits = graphs.observe(iter_raw_changes(repo, rev_range))
    subjects = gitsource.iter_subjects(repo, rev_range)
    return list(replay(commits, subjects, graphs, None, summary)), load, graphs


def sources_only_history(root: Path, commits: int) -> Path:
    repo, _ = init(root)
    for number in range(commits):
        name = "abc"[number % 3]
        files = {f"crates/{name}/src/lib.rs": f"// {number}\n"}
        if number % 4 == 1:
            files[f"crates/{name}/src/new{number}.rs"] = ""  # an added file, no new directory
        write_files(repo, files)
        commit_all(repo, f"change {number}")
    return repo


def test_commits_without_a_manifest_change_build_the_workspace_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    repo = sources_only_history(tmp_path, 12)

    audits, load, graphs = _replay(repo, "HEAD~12..HEAD", HistorySummary("", None), use_cache=True)

    assert len(audits) == 12 and len(load.calls) == 1
    assert graphs.stats["listed"] == 1 and graphs.stats["memo"] == 11
    assert len({audit.graph_id for audit in audits}) == 1
    # a second run finds the workspace in the cross-run cache: nothing is built
    again, load, graphs = _replay(repo, "HEAD~12..HEAD", HistorySummary("", None), use_cache=True)
    assert load.calls == [] and graphs.stats["cached"] == 1
    assert [a.selected for a in again] == [a.selected for a in audits]


def test_a_manifest_change_builds_one_more_workspace(tmp_path: Path) -> None:
    repo = sources_only_history(tmp_path, 6)
    write_files(repo, {"crates/a/Cargo.toml": manifest("a", "b")})
    commit_all(repo, "edge")
    write_files(repo, {"crates/b/src/lib.rs": "// after\n"})
    commit_all(repo, "after")

    audits, load, _ = _replay(repo, "HEAD~8..HEAD", HistorySummary("", None))

    assert len(load.calls) == 2  # the graph after the edge, the graph before it
    assert audits[0].selected == ["alpha", "beta"] and audits[-1].graph_id != audits[0].graph_id


def test_the_key_followed_through_the_stream_equals_the_key_listed_at_each_commit(
    tmp_path: Path,
) -> None:
    """Differential: every commit's key, derived from its child's raw records, equals the key
    of a fresh ``git ls-tree`` of that commit (additions, deletions, new and emptied
    directories, a moved manifest, a merged branch)."""
    repo, imported = init(tmp_path)
    steps: list[dict[str, str] | str] = [
        {"crates/a/src/deep/x.rs": ""},  # a new directory
        "crates/a/src/deep",  # emptied again
        {"crates/d/README": "no manifest\n"},  # a directory the member glob matches
        {"crates/a/Cargo.toml": manifest("a", "b")},
        "crates/c",  # a whole member
        {"tools/Cargo.toml": manifest("tools")},
    ]
    for number, step in enumerate(steps):
        if isinstance(step, str):
            git(repo, "rm", "-r", "-q", step)
        else:
            write_files(repo, step)
        commit_all(repo, f"step {number}")
    git(repo, "checkout", "-q", "-b", "side", "HEAD~3")
    write_files(repo, {"crates/b/Cargo.toml": manifest("b", "a"), "crates/e/f/g.rs": ""})
    commit_all(repo, "side")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")

    fixed = load_workspace(repo, use_cache=False)
    for walk in (True, False):
        graphs = GraphAtCommit(fixed, "lanes.yml", repo / "lanes.yml", use_cache=False)
        stream = graphs.observe(iter_raw_changes(repo, f"{imported}..HEAD", first_parent=walk))
        followed = {sha: graphs.at(sha).graph_id for sha, _ in stream}
        assert len(followed) == (7 if walk else 8)
        for sha, key in followed.items():
            alone = GraphAtCommit(fixed, "lanes.yml", repo / "lanes.yml", use_cache=False)
            assert alone.at(sha).graph_id == key, sha
        assert graphs.stats["listed"] < len(followed)


def test_a_new_directory_a_member_glob_matches_changes_the_graph(tmp_path: Path) -> None:
    """No manifest changed, but ``crates/*`` now matches a directory without ``Cargo.toml``:
    Cargo fails on it, so that commit's graph (not its parent's) makes it fail safe."""
    repo, _ = init(tmp_path)
    write_files(repo, {"crates/b/src/lib.rs": "// 1\n"})
    commit_all(repo, "b before")
    write_files(repo, {"crates/d/README": "not a crate yet\n"})
    commit_all(repo, "d without a manifest")
    git(repo, "rm", "-r", "-q", "crates/d")
    commit_all(repo, "d removed")

    commits = by_subject(lanes_json(repo, "audit", "history", "HEAD~3..HEAD"))

    assert commits["b before"]["mode"] == "precise"
    broken = commits["d without a manifest"]
    assert broken["mode"] == "fail-safe"
    assert "manifest-error: Cargo.toml:2" in broken["failsafe"]  # the members line
    assert commits["d removed"]["failsafe"] == ["unmatched"]  # the README was nobody's
    assert commits["d removed"]["graph_id"] == commits["b before"]["graph_id"]


def test_a_configuration_that_is_a_symbolic_link_at_a_commit_is_not_read_there(
    tmp_path: Path,
) -> None:
    """A tree's symbolic link is not materialised: the commit is judged with the checked-out
    configuration and says so, not with the no-configuration default."""
    repo, _ = init(tmp_path)
    (repo / "lanes.yml").rename(repo / "real.yml")
    (repo / "lanes.yml").symlink_to("real.yml")
    commit_all(repo, "link the configuration")
    write_files(repo, {"crates/b/src/lib.rs": "// linked\n"})
    commit_all(repo, "b, linked configuration")
    (repo / "lanes.yml").unlink()
    write_files(repo, {"lanes.yml": LANES_YML})
    commit_all(repo, "regular configuration")

    commits = by_subject(lanes_json(repo, "audit", "history", "HEAD~3..HEAD"))
    linked = commits["b, linked configuration"]

    assert linked["selected"] == ["beta"]
    assert linked["config"] == "lanes.yml (checked out)"
    assert linked["config_note"] == f"no lanes.yml at {linked['sha'][:10]}"
