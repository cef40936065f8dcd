"""lanes.git against real git repositories built in tmp_path (no mocks)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from lanes.git.base import changes_between
from lanes.git.basis import BASE_NOT_FOUND, GIT_ERROR, NO_BASE, NO_MERGE_BASE, NOT_ANCESTOR
from lanes.git.commits import commit_changes, iter_first_parent_changes
from lanes.git.local import local_changes, repo_root
from lanes.git.runner import GitError, NotAGitRepository
from lanes.model import ChangeSet
from lanes.pathlist import paths_from_stream

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fixed identities and dates; no user or system git configuration."""
    identity = {
        "GIT_AUTHOR_NAME": "Lane Tester",
        "GIT_AUTHOR_EMAIL": "lanes@example.invalid",
        "GIT_COMMITTER_NAME": "Lane Tester",
        "GIT_COMMITTER_EMAIL": "lanes@example.invalid",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(tmp_path),
    }
    for name, value in identity.items():
        monkeypatch.setenv(name, value)
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return result.stdout.decode().strip()


def init_repo(path: Path, branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", f"--initial-branch={branch}")
    return path


def write(repo: Path, name: str | bytes, content: str = "x\n") -> Path:
    target = Path(os.fsdecode(os.path.join(os.fsencode(repo), os.fsencode(name))))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    return target


def commit(repo: Path, message: str, *files: str) -> str:
    """Write each file (content: the message) and commit everything; return the SHA."""
    for name in files:
        write(repo, name, f"{name}: {message}\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def assert_precise(changes: ChangeSet, paths: list[str]) -> None:
    assert changes.uncertain is None, changes.detail
    assert changes.paths == paths


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    commit(root, "initial", "README.md", "core/lib.rs", "core/util.rs", "sdk/main.rs")
    return root


# --------------------------------------------------------------------------- edge cases


def test_deletion_counts(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "--quiet", "core/util.rs")
    commit(repo, "delete util")

    changes = changes_between(repo, base)

    assert_precise(changes, ["core/util.rs"])
    assert changes.basis["method"] == "merge-base"
    assert changes.basis["merge_base"] == base
    assert changes.basis["head"] == git(repo, "rev-parse", "HEAD")


def test_rename_across_directories_counts_both_paths(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "mv", "core/util.rs", "sdk/util.rs")
    commit(repo, "move util to the sdk")

    assert_precise(changes_between(repo, base), ["core/util.rs", "sdk/util.rs"])


def test_copy_counts_source_and_destination(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    shutil.copy(repo / "core/lib.rs", repo / "sdk/lib_copy.rs")
    commit(repo, "copy lib into the sdk")

    assert_precise(changes_between(repo, base), ["core/lib.rs", "sdk/lib_copy.rs"])
    assert_precise(changes_between(repo, base, copies=False), ["sdk/lib_copy.rs"])
    assert_precise(commit_changes(repo, "HEAD", copies=True), ["core/lib.rs", "sdk/lib_copy.rs"])
    assert_precise(commit_changes(repo, "HEAD"), ["sdk/lib_copy.rs"])


def test_mode_only_change_counts(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "sdk/main.rs").chmod(0o755)
    commit(repo, "make main executable")

    assert_precise(changes_between(repo, base), ["sdk/main.rs"])


def test_type_change_file_to_symlink_counts(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "core/util.rs").unlink()
    (repo / "core/util.rs").symlink_to("lib.rs")
    commit(repo, "util becomes a symlink")

    assert_precise(changes_between(repo, base), ["core/util.rs"])
    assert "T\tcore/util.rs" in git(repo, "diff", "--name-status", base, "HEAD")


def test_submodule_pointer_change_counts_even_if_config_ignores_it(
    repo: Path, tmp_path: Path
) -> None:
    library = init_repo(tmp_path / "library")
    first = commit(library, "v1", "lib.txt")
    second = commit(library, "v2", "lib.txt")
    git(
        repo,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "--quiet",
        "add",
        str(library),
        "vendor/lib",
    )
    git(repo, "-C", "vendor/lib", "checkout", "--quiet", first)
    base = commit(repo, "add the submodule at v1")
    git(repo, "-C", "vendor/lib", "checkout", "--quiet", second)
    commit(repo, "bump the submodule to v2")
    git(repo, "config", "diff.ignoreSubmodules", "all")

    assert_precise(changes_between(repo, base), ["vendor/lib"])


def test_push_diff_two_dot(repo: Path) -> None:
    before = git(repo, "rev-parse", "HEAD")
    commit(repo, "first pushed commit", "core/lib.rs")
    commit(repo, "second pushed commit", "sdk/main.rs")

    changes = changes_between(repo, before, merge_base=False)

    assert_precise(changes, ["core/lib.rs", "sdk/main.rs"])
    assert changes.basis["method"] == "two-dot"
    assert changes.basis["base_is_ancestor"] is True
    assert changes.basis["fallback"] is None


def test_thousands_of_paths_are_not_capped(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    names = [f"generated/{number // 100}/file{number}.txt" for number in range(3500)]
    for name in names:
        write(repo, name)
    commit(repo, "many files")

    assert_precise(changes_between(repo, base), sorted(names))


@pytest.mark.parametrize("base", [None, "", "0" * 40, "0" * 64])
def test_null_base_is_no_base(repo: Path, base: str | None) -> None:
    changes = changes_between(repo, base)

    assert changes.uncertain == NO_BASE
    assert changes.paths == []
    assert changes.basis["fallback"] == "all-lanes"
    assert changes.basis["head"] == git(repo, "rev-parse", "HEAD")


def test_base_not_in_clone_is_base_not_found(repo: Path) -> None:
    missing = "1234567890abcdef1234567890abcdef12345678"

    changes = changes_between(repo, missing)

    assert changes.uncertain == BASE_NOT_FOUND
    assert changes.paths == []
    assert missing in changes.detail
    assert changes_between(repo, "no-such-branch").uncertain == BASE_NOT_FOUND


def test_base_missing_from_a_full_clone_is_fetched_by_sha(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", "--single-branch", f"file://{repo}", str(clone))
    git(repo, "checkout", "--quiet", "-b", "other")
    other = commit(repo, "only on the other branch", "core/lib.rs")
    commit(clone, "work in the clone", "sdk/main.rs")

    changes = changes_between(clone, other)

    assert changes.uncertain is None, changes.detail
    assert changes.basis["base_fetched"] is True
    assert changes.basis["base"] == other
    assert changes.paths == ["sdk/main.rs"]


def _fork_history(origin: Path, shared: int, on_main: int, on_feature: int) -> tuple[str, str]:
    """main: ``shared`` commits, then ``on_main`` more; feature: forks after the shared ones and
    adds ``on_feature`` commits (feature/N.txt). Returns (main tip, fork point)."""
    for number in range(shared):
        commit(origin, f"shared {number}", f"shared/{number}.txt")
    fork = git(origin, "rev-parse", "HEAD")
    git(origin, "checkout", "--quiet", "-b", "feature")
    for number in range(on_feature):
        commit(origin, f"feature {number}", f"feature/{number}.txt")
    git(origin, "checkout", "--quiet", "main")
    for number in range(on_main):
        commit(origin, f"main {number}", f"main/{number}.txt")
    return git(origin, "rev-parse", "HEAD"), fork


def _shallow_feature_clone(origin: Path, target: Path, *, all_branches: bool = False) -> Path:
    git(
        target.parent,
        "clone",
        "--quiet",
        "--depth",
        "1",
        *(["--no-single-branch"] if all_branches else []),
        "--branch",
        "feature",
        f"file://{origin}",
        str(target),
    )
    assert git(target, "rev-parse", "--is-shallow-repository") == "true"
    return target


@pytest.mark.parametrize("base_name", ["sha", "origin/main", "main", "refs/heads/main"])
def test_shallow_clone_is_deepened_until_the_merge_base_is_found(
    tmp_path: Path, base_name: str
) -> None:
    origin = init_repo(tmp_path / "origin")
    main_tip, fork = _fork_history(origin, shared=5, on_main=20, on_feature=3)
    clone = _shallow_feature_clone(origin, tmp_path / "clone")
    assert subprocess.run(["git", "-C", str(clone), "cat-file", "-e", main_tip]).returncode != 0

    changes = changes_between(clone, main_tip if base_name == "sha" else base_name)

    assert_precise(changes, ["feature/0.txt", "feature/1.txt", "feature/2.txt"])
    assert changes.basis["merge_base"] == fork
    assert changes.basis["base"] == main_tip
    assert changes.basis["base_fetched"] is True
    depth = changes.basis["depth_fetched"]
    assert isinstance(depth, int) and depth > 0


def test_bounded_deepening_gives_up_as_uncertain(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    main_tip, _ = _fork_history(origin, shared=3, on_main=60, on_feature=40)
    clone = _shallow_feature_clone(origin, tmp_path / "clone")

    changes = changes_between(clone, main_tip, max_deepen=4)

    assert changes.uncertain == NO_MERGE_BASE
    assert changes.paths == []
    assert changes.basis["depth_fetched"] == 4
    assert changes.basis["shallow"] is True


def test_force_push_base_that_is_no_ancestor(repo: Path) -> None:
    fork = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "-b", "feature")
    before = commit(repo, "first attempt", "core/lib.rs")
    git(repo, "reset", "--quiet", "--hard", fork)  # the force push rewrote the branch
    head = commit(repo, "second attempt", "sdk/main.rs")

    three_dot = changes_between(repo, before, head)
    two_dot = changes_between(repo, before, head, merge_base=False)

    assert_precise(three_dot, ["sdk/main.rs"])
    assert three_dot.basis["merge_base"] == fork
    assert three_dot.basis["base_is_ancestor"] is False
    assert two_dot.uncertain == NOT_ANCESTOR
    assert two_dot.paths == []


ODD_NAMES = [
    b"with space.txt",
    b"quo\"te's.txt",
    b"core/x\nsdk=false",
    b"caf\xe9.txt",
    b"tab\there",
]


def test_odd_path_bytes_survive(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    for name in ODD_NAMES:
        with open(os.path.join(os.fsencode(repo), name), "wb") as handle:
            handle.write(b"odd\n")
    git(repo, "config", "core.quotePath", "true")
    commit(repo, "odd names")

    changes = changes_between(repo, base)

    expected = sorted(name.decode("utf-8", "surrogateescape") for name in ODD_NAMES)
    assert_precise(changes, expected)
    assert "core/x\nsdk=false" in changes.paths
    for path in changes.paths:
        assert os.path.exists(os.path.join(os.fsencode(repo), os.fsencode(path)))


def test_empty_diff_is_precise_and_empty(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, "nothing changed")

    assert_precise(changes_between(repo, base), [])
    assert_precise(changes_between(repo, base, merge_base=False), [])
    assert_precise(changes_between(repo, "HEAD", "HEAD"), [])


def _merged_history(repo: Path) -> dict[str, str]:
    """main: initial - main-work - merge(feature) - after; feature: feature-work."""
    shas = {"initial": git(repo, "rev-parse", "HEAD")}
    git(repo, "checkout", "--quiet", "-b", "feature")
    shas["feature"] = commit(repo, "feature work", "sdk/feature.rs")
    git(repo, "checkout", "--quiet", "main")
    shas["main"] = commit(repo, "main work", "core/main.rs")
    git(repo, "merge", "--quiet", "--no-ff", "-m", "merge feature", "feature")
    shas["merge"] = git(repo, "rev-parse", "HEAD")
    shas["after"] = commit(repo, "after the merge", "README.md")
    return shas


def test_merge_commit_as_head(repo: Path) -> None:
    shas = _merged_history(repo)

    pull_request = changes_between(repo, shas["main"], shas["merge"])
    since_initial = changes_between(repo, shas["initial"], shas["merge"])

    assert_precise(pull_request, ["sdk/feature.rs"])
    assert pull_request.basis["merge_base"] == shas["main"]
    assert_precise(since_initial, ["core/main.rs", "sdk/feature.rs"])


def test_commit_changes_of_a_merge_diffs_its_first_parent(repo: Path) -> None:
    shas = _merged_history(repo)

    merge = commit_changes(repo, shas["merge"])
    root = commit_changes(repo, shas["initial"])

    assert_precise(merge, ["sdk/feature.rs"])
    assert merge.basis["head"] == shas["merge"]
    assert merge.basis["method"] == "commit"
    assert merge.basis["base"] == shas["main"]  # the first parent
    assert root.basis["base"] is None
    assert_precise(root, ["README.md", "core/lib.rs", "core/util.rs", "sdk/main.rs"])
    assert_precise(commit_changes(repo, "HEAD"), ["README.md"])


def test_iter_first_parent_changes_streams_the_first_parent_history(repo: Path) -> None:
    shas = _merged_history(repo)
    git(repo, "mv", "core/util.rs", "sdk/util.rs")
    shas["rename"] = commit(repo, "rename")
    with open(os.path.join(os.fsencode(repo), b"core/x\nsdk=false"), "wb") as handle:
        handle.write(b"odd\n")
    shas["odd"] = commit(repo, "odd")
    shas["empty"] = commit(repo, "empty")

    history = list(iter_first_parent_changes(repo, "HEAD"))

    order = ["empty", "odd", "rename", "after", "merge", "main", "initial"]
    assert [sha for sha, _ in history] == [shas[name] for name in order]
    for sha, changes in history:
        assert changes.uncertain is None
        assert changes.paths == commit_changes(repo, sha).paths
        assert changes.basis == commit_changes(repo, sha).basis | {"head_ref": sha}
    by_name = dict(zip(order, (changes.paths for _, changes in history), strict=True))
    assert by_name["merge"] == ["sdk/feature.rs"]
    assert by_name["rename"] == ["core/util.rs", "sdk/util.rs"]
    assert by_name["odd"] == ["core/x\nsdk=false"]
    assert by_name["empty"] == []
    ranged = [sha for sha, _ in iter_first_parent_changes(repo, f"{shas['main']}..HEAD")]
    assert ranged == [shas[name] for name in order[:5]]


def test_iter_first_parent_changes_raises_on_a_bad_range(repo: Path) -> None:
    with pytest.raises(GitError):
        list(iter_first_parent_changes(repo, "no-such-rev..HEAD"))
    with pytest.raises(GitError):
        list(iter_first_parent_changes(repo, "--all"))


# --------------------------------------------------------------------------- git errors


def test_unknown_head_is_git_error(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")

    changes = changes_between(repo, base, "no-such-head")

    assert changes.uncertain == GIT_ERROR
    assert changes.paths == []
    assert "no-such-head" in changes.detail
    assert commit_changes(repo, "no-such-head").uncertain == GIT_ERROR


def test_corrupt_repository_is_git_error(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, "more", "core/new.rs")
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    object_file = repo / ".git" / "objects" / tree[:2] / tree[2:]
    object_file.chmod(0o644)
    object_file.write_bytes(b"garbage")

    changes = changes_between(repo, base)

    assert changes.uncertain == GIT_ERROR
    assert changes.paths == []
    assert changes.detail


def test_option_like_revisions_are_refused(repo: Path) -> None:
    assert changes_between(repo, "--output=/tmp/pwned").uncertain == GIT_ERROR
    assert changes_between(repo, "HEAD", "-p").uncertain == GIT_ERROR
    assert commit_changes(repo, "--all").uncertain == GIT_ERROR
    assert local_changes(repo, "-x").uncertain == GIT_ERROR


def test_missing_git_and_non_repository_are_git_errors(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert changes_between(plain, "HEAD~1").uncertain == GIT_ERROR
    assert local_changes(plain).uncertain == GIT_ERROR

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    changes = changes_between(repo, "HEAD")
    assert changes.uncertain == GIT_ERROR
    assert "cannot run git" in changes.detail


@pytest.mark.parametrize(
    "hook",
    [
        "sleep 5",
        # the subshell exits at once: its sleep is no longer below git, but in git's group
        "(sleep 5 &)\nsleep 5",
    ],
)
def test_timeout_is_git_error_and_ends_git_children(repo: Path, tmp_path: Path, hook: str) -> None:
    monitor = tmp_path / "slow-fsmonitor"
    monitor.write_text(f"#!/bin/sh\n{hook}\n")
    monitor.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(monitor))

    started = time.monotonic()
    changes = local_changes(repo, timeout=0.5)

    assert changes.uncertain == GIT_ERROR
    assert "timed out" in changes.detail
    assert time.monotonic() - started < 4


def test_repo_root(repo: Path, tmp_path: Path) -> None:
    assert repo_root(repo / "core") == repo.resolve()
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotAGitRepository):
        repo_root(tmp_path / "plain")


# --------------------------------------------------------------------------- local changes


def test_local_changes_against_the_merge_base_with_origin_main(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", f"file://{repo}", str(clone))
    fork = git(clone, "rev-parse", "HEAD")
    commit(repo, "upstream moved on", "core/upstream.rs")
    git(clone, "fetch", "--quiet")
    git(clone, "checkout", "--quiet", "-b", "work")
    commit(clone, "committed on the branch", "sdk/committed.rs")
    write(clone, ".gitignore", "*.log\n")
    write(clone, "core/lib.rs", "modified, not staged\n")
    write(clone, "sdk/staged.rs", "staged\n")
    git(clone, "add", "sdk/staged.rs")
    write(clone, "docs/untracked.md", "untracked\n")
    write(clone, "build.log", "ignored\n")
    (clone / "core/util.rs").unlink()

    changes = local_changes(clone / "sdk")

    expected = [".gitignore", "core/lib.rs", "core/util.rs", "docs/untracked.md"]
    expected += ["sdk/committed.rs", "sdk/staged.rs"]
    assert_precise(changes, expected)
    assert changes.basis["method"] == "local"
    assert changes.basis["base_ref"] == "refs/remotes/origin/main"
    assert changes.basis["merge_base"] == fork


def test_local_changes_sees_a_staged_change_reverted_in_the_work_tree(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "work")
    original = (repo / "core/lib.rs").read_text()
    write(repo, "core/lib.rs", "staged change\n")
    git(repo, "add", "core/lib.rs")
    write(repo, "core/lib.rs", original)

    assert_precise(local_changes(repo), ["core/lib.rs"])
    assert local_changes(repo).basis["base_ref"] == "refs/heads/main"


def test_local_changes_deepens_a_shallow_clone(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    _, fork = _fork_history(origin, shared=4, on_main=10, on_feature=3)
    clone = _shallow_feature_clone(origin, tmp_path / "clone", all_branches=True)
    write(clone, "sdk/local.rs", "untracked\n")

    changes = local_changes(clone, "origin/main")
    without_fetch = local_changes(clone / "feature", "origin/main", fetch=False)

    assert_precise(changes, ["feature/0.txt", "feature/1.txt", "feature/2.txt", "sdk/local.rs"])
    assert changes.basis["merge_base"] == fork
    depth = changes.basis["depth_fetched"]
    assert isinstance(depth, int) and depth > 0
    assert without_fetch.uncertain is None  # the first call deepened the clone for good


def test_local_changes_in_a_shallow_clone_without_fetching_is_uncertain(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin")
    _fork_history(origin, shared=4, on_main=10, on_feature=3)
    clone = _shallow_feature_clone(origin, tmp_path / "clone", all_branches=True)

    changes = local_changes(clone, fetch=False)

    assert changes.uncertain == NO_MERGE_BASE
    assert changes.basis["base_ref"] == "refs/remotes/origin/main"
    assert changes.basis["shallow"] is True


def test_local_changes_without_upstream_is_no_base(tmp_path: Path) -> None:
    trunk = init_repo(tmp_path / "trunk", branch="trunk")
    commit(trunk, "initial", "a.txt")

    assert local_changes(trunk).uncertain == NO_BASE
    assert local_changes(trunk, "refs/heads/nope").uncertain == BASE_NOT_FOUND
    assert local_changes(trunk, "trunk").uncertain is None


BASIS_KEYS = {"method", "base", "head", "merge_base", "depth_fetched", "fallback", "shallow"}


def test_every_method_records_the_same_basis_keys(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    commit(repo, "change", "core/lib.rs")
    change_sets = [
        changes_between(repo, base),
        changes_between(repo, base, merge_base=False),
        changes_between(repo, None),
        changes_between(repo, base, "no-such-head"),
        local_changes(repo),
        commit_changes(repo, "HEAD"),
        commit_changes(repo, "no-such-commit"),
        *(changes for _, changes in iter_first_parent_changes(repo, "HEAD")),
        paths_from_stream(b"core/lib.rs\n"),
    ]

    for changes in change_sets:
        assert set(changes.basis) >= BASIS_KEYS, changes.basis["method"]
        assert (changes.basis["fallback"] is None) == (changes.uncertain is None)
