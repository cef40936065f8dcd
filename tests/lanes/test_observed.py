"""A warm run replays what the last run observed in the work tree (``lanes.discovery._observed``)
instead of locating every manifest again; any change to what locating looked at (a manifest's
text, a member directory appearing or losing its manifest, a symbolic link retargeted, the
member globs) gives the answer a run without any cache gives."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lanes import workspace
from lanes.discovery import _observed
from lanes.discovery._source import WorkTree
from lanes.workspace import load_workspace
from tests.lanes.fixtures import commit_all, git, write_files

PAUSE = 0.3  # longer than the racy window the tests set, far longer than a timestamp tick


def package(name: str, body: str = "") -> str:
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\n{body}'


def path_dep(name: str, path: str) -> str:
    return f'[dependencies]\n{name} = {{ path = "{path}" }}\n'


@pytest.fixture
def racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_observed, "RACY_SECONDS", 0.1)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_window: None) -> Path:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    write_files(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/app/Cargo.toml": package("app", path_dep("liba", "../../vendor/a")),
            "crates/util/Cargo.toml": package("util"),
            "vendor/a/Cargo.toml": package("liba"),
            "vendor/b/Cargo.toml": package("libb"),
            "shared/one/Cargo.toml": package("one"),
            "shared/two/Cargo.toml": package("two"),
        },
    )
    os.symlink("../shared/one", root / "vendor" / "link")
    commit_all(root, "a workspace")  # the manifest listing comes from git's index
    return root


class Locations:
    """Counts how often the work tree is located afresh (not replayed)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.fresh = 0
        real: Callable[..., dict[str, list[str]]] = workspace.located_in

        def counting(tree: object, config: object) -> dict[str, list[str]]:
            if isinstance(tree, _observed.ObservingTree):
                self.fresh += 1
            return real(tree, config)

        monkeypatch.setattr(workspace, "located_in", counting)

    def load(self, repo: Path) -> tuple[workspace.Workspace, bool]:
        """Load; whether the work tree was located afresh. The answer must equal a load
        without any cache."""
        before = self.fresh
        loaded = load_workspace(repo)
        fresh = self.fresh > before
        assert loaded.index == load_workspace(repo, use_cache=False).index
        return loaded, fresh


@pytest.fixture
def locations(monkeypatch: pytest.MonkeyPatch) -> Locations:
    return Locations(monkeypatch)


def linked_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, elsewhere: dict[str, str]
) -> Path:
    """A committed workspace whose member glob ``crates/*`` meets ``crates/<name>``, a link to
    ``elsewhere/<name>`` (``elsewhere``: the files there)."""
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    write_files(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/app/Cargo.toml": package("app"),
            **{f"elsewhere/{path}": text for path, text in elsewhere.items()},
        },
    )
    os.symlink(f"../elsewhere/{name}", root / "crates" / name)
    commit_all(root, "a workspace")
    return root


def settle() -> None:
    """Let what was just written age past the racy window, so the next run trusts it."""
    time.sleep(PAUSE)


def test_an_unchanged_work_tree_is_replayed_not_located(repo: Path, locations: Locations) -> None:
    settle()
    _, fresh = locations.load(repo)
    assert fresh
    loaded, fresh = locations.load(repo)
    assert not fresh and loaded.cache_hit


@pytest.mark.parametrize(
    ("change", "component", "dependents"),
    [
        # The same number of bytes: only the change time tells.
        (
            lambda r: write_files(
                r, {"crates/app/Cargo.toml": package("app", path_dep("libb", "../../vendor/b"))}
            ),
            "libb",
            ["app", "libb"],
        ),
        (lambda r: write_files(r, {"crates/new/Cargo.toml": package("new")}), "new", ["new"]),
        (
            lambda r: write_files(
                r, {"crates/util/Cargo.toml": package("util", path_dep("liba", "../../vendor/a"))}
            ),
            "liba",
            ["app", "liba", "util"],
        ),
        (
            lambda r: write_files(
                r, {"Cargo.toml": '[workspace]\nmembers = ["crates/*", "shared/*"]\n'}
            ),
            "two",
            ["two"],
        ),
    ],
    ids=["same-size-edit", "new-member", "new-path-dependency", "member-glob"],
)
def test_each_change_to_what_locating_read_locates_afresh(
    repo: Path,
    locations: Locations,
    change: Callable[[Path], None],
    component: str,
    dependents: list[str],
) -> None:
    settle()
    locations.load(repo)
    locations.load(repo)
    settle()
    change(repo)
    loaded, fresh = locations.load(repo)
    assert fresh
    assert sorted(loaded.index.covered_by[component]) == dependents


def test_a_member_that_loses_its_manifest_is_noticed(repo: Path, locations: Locations) -> None:
    settle()
    locations.load(repo)
    os.unlink(repo / "crates/util/Cargo.toml")
    loaded, fresh = locations.load(repo)
    assert fresh and "util" not in loaded.index.covered_by
    assert any(problem.startswith("manifest-error") for problem in loaded.index.problems)


def test_a_retargeted_symbolic_link_is_noticed(repo: Path, locations: Locations) -> None:
    write_files(
        repo, {"crates/app/Cargo.toml": package("app", path_dep("one", "../../vendor/link"))}
    )
    settle()
    loaded, _ = locations.load(repo)
    assert sorted(loaded.index.covered_by["one"]) == ["app", "one"]
    locations.load(repo)
    os.unlink(repo / "vendor" / "link")
    os.symlink("../shared/two", repo / "vendor" / "link")
    write_files(
        repo, {"crates/app/Cargo.toml": package("app", path_dep("two", "../../vendor/link"))}
    )
    loaded, fresh = locations.load(repo)
    assert fresh
    assert sorted(loaded.index.covered_by["two"]) == ["app", "two"]


def test_a_link_entry_whose_target_changes_kind_is_noticed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_window: None
) -> None:
    """A member glob lists ``crates/``; ``crates/linked`` is a link to a directory elsewhere.
    Removing that directory changes no signature of ``crates/`` itself."""
    root = linked_member(tmp_path, monkeypatch, "linked", {"linked/Cargo.toml": package("linked")})
    locations = Locations(monkeypatch)
    settle()
    loaded, _ = locations.load(root)
    assert "linked" in loaded.index.covered_by
    locations.load(root)
    os.unlink(root / "elsewhere/linked/Cargo.toml")
    os.rmdir(root / "elsewhere/linked")
    loaded, fresh = locations.load(root)
    assert fresh and "linked" not in loaded.index.covered_by


def test_a_js_workspace_member_added_is_noticed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_window: None
) -> None:
    monkeypatch.setenv("LANES_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(root))
    manifest = {"name": "root", "private": True, "workspaces": ["packages/*"]}
    write_files(
        root,
        {
            "package.json": json.dumps(manifest),
            "packages/a/package.json": json.dumps({"name": "a"}),
        },
    )
    locations = Locations(monkeypatch)
    settle()
    locations.load(root)
    locations.load(root)
    dependent = {"name": "b", "dependencies": {"a": "*"}}
    write_files(root, {"packages/b/package.json": json.dumps(dependent)})
    loaded, fresh = locations.load(root)
    assert fresh and sorted(loaded.index.covered_by["a"]) == ["a", "b"]


def test_recent_changes_are_not_trusted_by_their_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the racy window a second edit could keep size and timestamps: such a file is
    recorded without a signature (read again next run), an older one with it."""
    monkeypatch.setattr(_observed, "RACY_SECONDS", PAUSE)
    write_files(tmp_path, {"old.txt": "old\n"})
    os.mkdir(tmp_path / "old-dir")
    time.sleep(2 * PAUSE)
    write_files(tmp_path, {"new.txt": "new\n"})
    os.mkdir(tmp_path / "new-dir")
    tree = _observed.ObservingTree(str(tmp_path))
    for name in ("old.txt", "new.txt"):
        tree.read(name)
    for name in ("old-dir", "new-dir"):
        tree.list_dir(name)
    record = tree.record({})
    assert record["files"]["old.txt"][0] is not None
    assert record["files"]["new.txt"][0] is None
    assert record["listings"]["old-dir"][0] is not None
    assert record["listings"]["new-dir"][0] is None


def test_a_same_size_edit_within_the_racy_window_is_read_again(tmp_path: Path) -> None:
    """With the default window, an edit right after a run that keeps the size (and, on a coarse
    clock, possibly the timestamps) is still seen: the file is compared by content."""
    write_files(tmp_path, {"Cargo.toml": package("one")})
    tree = _observed.ObservingTree(str(tmp_path))
    tree.identity("Cargo.toml")
    record = tree.record({"cargo": ["Cargo.toml"]})
    replay = _observed.still_true(record, WorkTree(str(tmp_path)))
    assert replay is not None and replay.located == {"cargo": ["Cargo.toml"]}
    write_files(tmp_path, {"Cargo.toml": package("two")})
    assert _observed.still_true(record, WorkTree(str(tmp_path))) is None


def _replace_record(repo: Path, change: Callable[[dict[str, object]], object]) -> None:
    records = [p for p in (repo.parent / "cache").iterdir() if p.name.startswith("observed-")]
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    records[0].write_text(json.dumps(change(record)))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: "",
        lambda r: [],
        lambda r: {"format": 1},
        lambda r: {**r, "files": 3},
        lambda r: {**r, "format": 0},
        lambda r: {**r, "located": {"cargo": "Cargo.toml"}},
        lambda r: {**r, "located": {"cargo": [1]}},
        lambda r: {**r, "answers": {"unlink": {"Cargo.toml": True}}},
    ],
    ids=[
        "text",
        "list",
        "no-fields",
        "bad-files",
        "old-format",
        "located-text",
        "located-int",
        "query",
    ],
)
def test_an_unusable_record_means_locating_afresh(
    repo: Path, locations: Locations, change: Callable[[dict[str, object]], object]
) -> None:
    settle()
    locations.load(repo)
    _, fresh = locations.load(repo)
    assert not fresh
    _replace_record(repo, change)
    _, fresh = locations.load(repo)
    assert fresh


def test_a_shared_cache_keeps_one_record_per_repository(
    tmp_path: Path, repo: Path, locations: Locations
) -> None:
    """Records hold repository-relative paths: a copy elsewhere has its own."""
    settle()
    locations.load(repo)
    other = tmp_path / "other"
    git(tmp_path, "init", "-q", str(other))
    write_files(other, {"Cargo.toml": package("solo")})
    loaded, fresh = locations.load(other)
    assert fresh and sorted(loaded.index.kinds) == ["solo"]
    _, fresh = locations.load(repo)
    assert not fresh


def test_a_link_entry_that_turns_into_a_member_directory_is_noticed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_window: None
) -> None:
    """``crates/later`` links to a file, so the member glob skips it; the file is then replaced
    by a directory with a manifest. Nothing about ``crates/`` or any file read changes."""
    root = linked_member(tmp_path, monkeypatch, "later", {"later": "not yet a crate\n"})
    locations = Locations(monkeypatch)
    settle()
    loaded, _ = locations.load(root)
    assert "later" not in loaded.index.covered_by
    locations.load(root)
    os.unlink(root / "elsewhere/later")
    write_files(root, {"elsewhere/later/Cargo.toml": package("later")})
    loaded, fresh = locations.load(root)
    assert fresh and "later" in loaded.index.covered_by


def test_an_untracked_manifest_of_another_kind_at_the_root_is_noticed(
    repo: Path, locations: Locations
) -> None:
    """Which ecosystems are present is asked of the root (``is_file``): a new, untracked
    ``package.json`` there changes no file read and not git's index."""
    settle()
    locations.load(repo)
    locations.load(repo)
    write_files(repo, {"package.json": json.dumps({"name": "web"})})
    loaded, fresh = locations.load(repo)
    assert fresh and "web" in loaded.index.covered_by


def test_a_project_committed_in_a_subdirectory_is_noticed(repo: Path, locations: Locations) -> None:
    """Projects anywhere in the tree come from git's list of manifests: a committed
    ``pyproject.toml`` under ``tools/`` changes nothing else locating looked at."""
    settle()
    locations.load(repo)
    locations.load(repo)
    write_files(repo, {"tools/py/pyproject.toml": '[project]\nname = "helper"\nversion = "1"\n'})
    commit_all(repo, "a python helper")
    loaded, fresh = locations.load(repo)
    assert fresh and "helper" in loaded.index.covered_by


def test_a_record_taken_too_early_is_refreshed_once_its_files_are_old_enough(
    repo: Path, locations: Locations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first run right after a checkout trusts no signature; a later run reads the files
    again, finds them unchanged and records their signatures, so the run after reads none."""
    reads: list[str] = []
    identity = WorkTree.identity

    def counting(tree: WorkTree, path: str) -> str:
        reads.append(path)
        return identity(tree, path)

    locations.load(repo)  # everything was just written: no signature is trusted
    settle()
    monkeypatch.setattr(WorkTree, "identity", counting)
    load_workspace(repo)
    assert "crates/app/Cargo.toml" in reads
    reads.clear()
    loaded = load_workspace(repo)
    assert loaded.cache_hit
    assert [path for path in reads if (repo / path).exists()] == []  # absent ones: one open
