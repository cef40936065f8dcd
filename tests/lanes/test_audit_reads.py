"""``lanes audit history``: a latent gap on a file a component reads from outside its directory
(what a tracked link in it points at, a target its manifest places elsewhere) is found in a
commit that also touched the component's own files: the read file is asked about alone, so the
own files, which the legacy detector does map, cannot hide it. Real git history, a real bash
detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lanes.audit.attribution import ComponentPaths, owner_groups, questions
from lanes.workspace import load_workspace
from tests.lanes.audit_helpers import by_subject, lanes_json
from tests.lanes.fixtures import commit_all, git, write_files
from tests.lanes.test_cli_cargo_semantics import make_repo, package
from tests.lanes.test_symlinked_sources import _repo

DETECTOR = """\
#!/usr/bin/env bash
# Lists kept by hand: each crate's directory runs its lane, and nothing else does.
a=false; b=false; app=false
while IFS= read -r path; do
  case "$path" in
    crates/a/*) a=true ;;
    crates/b/*) b=true ;;
    crates/app/*) app=true ;;
  esac
done
echo "a=$a"
echo "b=$b"
echo "app=$app"
"""


def audit(repo: Path, tmp_path: Path, base: str) -> dict[str, Any]:
    detector = tmp_path / "detect.sh"
    detector.write_text(DETECTOR)
    data: dict[str, Any] = lanes_json(
        repo, "audit", "history", f"{base}..HEAD", "--against-command", f"bash {detector}"
    )
    return data


def test_a_gap_behind_a_link_is_found_when_the_links_owner_changed_too(tmp_path: Path) -> None:
    repo = _repo(tmp_path)  # crates/a/src/gen.rs links to crates/b/data/gen.rs
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(
        repo,
        {"crates/a/src/lib.rs": "mod gen;\nmod proto;\n// a\n", "crates/b/data/gen.rs": "// g\n"},
    )
    sha = commit_all(repo, "a and what its link points at")
    data = audit(repo, tmp_path, base)
    commit = by_subject(data)["a and what its link points at"]
    assert commit["missed"] == []  # a's own file ran a
    assert commit["latent"] == [
        {"component": "a", "lane": "a", "path": "crates/b/data/gen.rs", "hidden": True}
    ]
    (gap,) = data["summary"]["latent_gaps"]
    assert (gap["component"], gap["lane"], gap["first"], gap["commits"], gap["hidden"]) == (
        "a",
        "a",
        sha,
        1,
        1,
    )
    assert gap["example"] == "crates/b/data/gen.rs"


def test_a_gap_on_a_target_placed_elsewhere_is_found_beside_the_crates_own_change(
    tmp_path: Path,
) -> None:
    manifest = package("app", '\n[[bin]]\nname = "tool"\npath = "../../shared/tool.rs"\n')
    files = {
        "Cargo.toml": '[workspace]\nresolver = "2"\nmembers = ["crates/app"]\n',
        "crates/app/Cargo.toml": manifest,
        "shared/tool.rs": "fn main() {}\n",
        "lanes.yml": "version: 1\nlanes:\n  app:\n    roots: [app]\n",
    }
    repo = make_repo(tmp_path / "repo", files)
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"crates/app/src/lib.rs": "// own\n", "shared/tool.rs": "fn main() {1;}\n"})
    commit_all(repo, "app and its tool")
    write_files(repo, {"crates/app/src/lib.rs": "// own, alone\n"})
    commit_all(repo, "app alone")
    commits = by_subject(audit(repo, tmp_path, base))
    assert commits["app and its tool"]["latent"] == [
        {"component": "app", "lane": "app", "path": "shared/tool.rs", "hidden": True}
    ]
    assert commits["app alone"]["latent"] == []  # its own files do run its lane


def test_a_read_path_is_one_question_however_many_components_ask_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    paths = ["crates/a/src/lib.rs", "crates/b/data/gen.rs"]
    groups = owner_groups(paths, load_workspace(repo))
    assert groups == {
        "a": ComponentPaths(owns=("crates/a/src/lib.rs",), reads=("crates/b/data/gen.rs",)),
        "b": ComponentPaths(owns=("crates/b/data/gen.rs",)),
    }
    assert questions(paths, groups) == [("crates/a/src/lib.rs",), ("crates/b/data/gen.rs",)]
    # a commit of gen.rs alone: every question is the whole commit's
    assert questions(paths[1:], owner_groups(paths[1:], load_workspace(repo))) == []
