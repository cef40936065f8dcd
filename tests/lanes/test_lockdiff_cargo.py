"""Semantic Cargo.lock diffs on lockfiles written by the real cargo, offline: a local registry
(index plus ``.crate`` files) replaces crates.io, so the locks carry the crates.io source and
real checksums, and ``cargo update --precise`` bumps one package as a developer would."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from lanes.lockdiff import LocalPackage, LockParseError, PackageChange, diff_lockfile

CRATES = {
    "itoa": {"0.4.0": [], "0.4.1": [], "1.0.0": [], "1.0.1": []},
    "serde": {"1.0.190": [("itoa", "1")], "1.0.192": [("itoa", "1")]},
}
APP = LocalPackage("app", None)
CORE = LocalPackage("core", None)


def _crate(registry: Path, name: str, version: str, deps: list[tuple[str, str]]) -> None:
    manifest = f'[package]\nname = "{name}"\nversion = "{version}"\nedition = "2021"\n'
    manifest += "".join(f'[dependencies.{d}]\nversion = "{r}"\n' for d, r in deps)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, text in (
            (f"{name}-{version}/Cargo.toml", manifest),
            (f"{name}-{version}/src/lib.rs", ""),
        ):
            info = tarfile.TarInfo(member)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    blob = buffer.getvalue()
    registry.mkdir(parents=True, exist_ok=True)
    (registry / f"{name}-{version}.crate").write_bytes(blob)
    shard = registry / "index" / (f"3/{name[0]}" if len(name) == 3 else f"{name[:2]}/{name[2:4]}")
    shard.mkdir(parents=True, exist_ok=True)
    entry = {
        "name": name,
        "vers": version,
        "deps": [
            {
                "name": d,
                "req": r,
                "features": [],
                "optional": False,
                "default_features": True,
                "target": None,
                "kind": "normal",
            }
            for d, r in deps
        ],
        "cksum": hashlib.sha256(blob).hexdigest(),
        "features": {},
        "yanked": False,
    }
    with open(shard / name, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


class Workspace:
    """A two-member workspace (app -> core) whose registry crates come from a local registry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        registry = root / "registry"
        for name, versions in CRATES.items():
            for version, deps in versions.items():
                _crate(registry, name, version, deps)
        self.write(
            ".cargo/config.toml",
            '[source.crates-io]\nreplace-with = "local"\n'
            f'[source.local]\nlocal-registry = "{registry}"\n',
        )
        self.write("ws/Cargo.toml", '[workspace]\nmembers = ["app", "core"]\nresolver = "2"\n')
        self.write("ws/app/src/lib.rs", "")
        self.write("ws/core/src/lib.rs", "")
        self.member("core", 'itoa = "1"')

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def member(self, name: str, deps: str, extra: str = "") -> None:
        self.write(
            f"ws/{name}/Cargo.toml",
            f'[package]\nname = "{name}"\nversion = "0.1.0"\n'
            f'edition = "2021"\n{extra}[dependencies]\n{deps}\n',
        )

    def cargo(self, *args: str) -> bytes:
        subprocess.run(
            ["cargo", *args, "--offline"], cwd=self.root / "ws", check=True, capture_output=True
        )
        return (self.root / "ws" / "Cargo.lock").read_bytes()

    def lock(self) -> bytes:
        return self.cargo("generate-lockfile")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.member("app", 'core = { path = "../core" }\nserde = "1"\n')
    return workspace


def changes(diff_reached: dict[LocalPackage, tuple[PackageChange, ...]]) -> dict[str, list[str]]:
    return {member.name: [c.describe() for c in found] for member, found in diff_reached.items()}


def test_a_bumped_package_reaches_only_the_members_that_use_it(ws: Workspace) -> None:
    old = ws.cargo("update", "-p", "serde", "--precise", "1.0.190")
    new = ws.cargo("update", "-p", "serde", "--precise", "1.0.192")
    assert b"version = 4" in new and b'checksum = "' in new
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert changes(diff.reached) == {"app": ["serde 1.0.190 -> 1.0.192"]}
    assert diff.unattributed == ()
    assert diff.reached[APP] == (PackageChange("serde", "1.0.190", "1.0.192"),)


def test_a_transitive_package_reaches_every_member_through_any_path(ws: Workspace) -> None:
    old = ws.cargo("update", "-p", "itoa", "--precise", "1.0.1")
    new = ws.cargo("update", "-p", "itoa", "--precise", "1.0.0")
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert changes(diff.reached) == {
        "app": ["itoa 1.0.1 -> 1.0.0"],
        "core": ["itoa 1.0.1 -> 1.0.0"],
    }
    assert diff.unattributed == ()


def test_two_versions_of_one_name_are_told_apart(ws: Workspace) -> None:
    ws.member("app", 'itoa = "0.4"')
    old = ws.cargo("update", "-p", "itoa@0.4.1", "--precise", "0.4.0")
    assert b'"itoa 0.4.0"' in old  # cargo names the version when two are locked
    new = ws.cargo("update", "-p", "itoa@0.4.0", "--precise", "0.4.1")
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert changes(diff.reached) == {"app": ["itoa 0.4.0 -> 0.4.1"]}  # core uses itoa 1


def test_version_3_lock(ws: Workspace) -> None:
    ws.member("core", 'itoa = "1"', extra='rust-version = "1.70"\n')
    old = ws.cargo("update", "-p", "serde", "--precise", "1.0.190")
    new = ws.cargo("update", "-p", "serde", "--precise", "1.0.192")
    assert b"\nversion = 3\n" in new
    assert changes(diff_lockfile("ws/Cargo.lock", old, new).reached) == {
        "app": ["serde 1.0.190 -> 1.0.192"]
    }


def test_a_member_that_gains_a_locked_package_is_reached_by_its_own_entry(ws: Workspace) -> None:
    old = ws.lock()
    ws.member("app", 'core = { path = "../core" }\nserde = "1"\nitoa = "1"\n')
    new = ws.lock()
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert changes(diff.reached) == {"app": ["app 0.1.0 -> 0.1.0 (dependencies changed)"]}
    assert diff.unattributed == ()


def test_a_checksum_change_is_a_change(ws: Workspace) -> None:
    old = ws.lock()
    text = old.decode()
    start = text.index('checksum = "', text.index('name = "serde"')) + len('checksum = "')
    new = (text[:start] + "0" * 64 + text[start + 64 :]).encode()
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    serde = diff.reached[APP]
    assert [c.describe() for c in serde] == ["serde 1.0.192 -> 1.0.192 (checksum changed)"]


def test_a_source_change_names_both_sources(ws: Workspace) -> None:
    old = ws.lock()
    git = 'source = "git+https://example.com/serde?rev=abc#abc123"'
    text = old.decode()
    serde = text.index('name = "serde"')
    start = text.index("source = ", serde)
    end = text.index("\n", text.index("checksum = ", serde))
    new = (text[:start] + git + text[end:]).encode()
    (change,) = diff_lockfile("ws/Cargo.lock", old, new).reached[APP]
    assert change.describe() == (
        "serde 1.0.192 (registry+https://github.com/rust-lang/crates.io-index)"
        " -> 1.0.192 (git+https://example.com/serde?rev=abc#abc123)"
    )


def test_format_and_patch_changes_are_unattributed(ws: Workspace) -> None:
    old = ws.lock()
    new = old.replace(b"version = 4", b"version = 3")
    new += b'\n[[patch.unused]]\nname = "x"\nversion = "1.0.0"\n'
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert diff.reached == {}
    assert diff.unattributed == ("ws/Cargo.lock: patch added", "ws/Cargo.lock: version changed")


def test_added_and_deleted_lockfiles_reach_every_member(ws: Workspace) -> None:
    lock = ws.lock()
    added = diff_lockfile("ws/Cargo.lock", None, lock)
    assert set(added.reached) == {APP, CORE}
    assert "serde 1.0.192 added" in [c.describe() for c in added.reached[APP]]
    assert added.unattributed == ()
    deleted = diff_lockfile("ws/Cargo.lock", lock, None)
    assert [c.describe() for c in deleted.reached[CORE]] == [
        "core 0.1.0 removed",
        "itoa 1.0.1 removed",
    ]


def test_identical_locks_have_no_diff(ws: Workspace) -> None:
    lock = ws.lock()
    diff = diff_lockfile("ws/Cargo.lock", lock, lock)
    assert diff[:2] == ({}, ())
    assert diff.members == {APP, CORE}  # every member either lock records, reached or not


def test_bad_bytes_raise_naming_the_file_and_line(ws: Workspace) -> None:
    with pytest.raises(LockParseError, match=r"^ws/Cargo.lock:3: invalid TOML"):
        diff_lockfile("ws/Cargo.lock", ws.lock(), b"version = 4\n\n[[package]\n")
    with pytest.raises(LockParseError, match=r"unsupported Cargo.lock version 99"):
        diff_lockfile("ws/Cargo.lock", b"version = 99\n", None)
    with pytest.raises(LockParseError, match="not UTF-8"):
        diff_lockfile("Cargo.lock", b"\xff\xfe", None)


def test_a_dependency_the_lock_lacks_is_unattributed(ws: Workspace) -> None:
    old = ws.lock()
    new = old.replace(b' "itoa",\n', b' "itoa",\n "ghost",\n', 1).replace(b"1.0.192", b"1.0.190")
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert "ws/Cargo.lock: dependency 'ghost' of core is not in the lockfile" in diff.unattributed


def test_version_1_lock_with_checksums_in_metadata() -> None:
    def lock(version: str) -> bytes:
        source = "registry+https://github.com/rust-lang/crates.io-index"
        return (
            f'[[package]]\nname = "app"\nversion = "0.1.0"\n'
            f'dependencies = [\n "serde {version} ({source})",\n]\n\n'
            f'[[package]]\nname = "serde"\nversion = "{version}"\nsource = "{source}"\n\n'
            f'[metadata]\n"checksum serde {version} ({source})" = "{version}abc"\n'
        ).encode()

    diff = diff_lockfile("Cargo.lock", lock("1.0.0"), lock("1.0.1"))
    assert changes(diff.reached) == {"app": ["serde 1.0.0 -> 1.0.1"]}
    assert diff.unattributed == ()


def test_a_member_that_switches_between_two_locked_versions_is_reached(ws: Workspace) -> None:
    ws.write("ws/Cargo.toml", '[workspace]\nmembers = ["app", "core", "tool"]\nresolver = "2"\n')
    ws.write("ws/tool/src/lib.rs", "")
    ws.member("tool", 'itoa = "0.4"')
    ws.member("app", 'itoa = "0.4"')
    old = ws.lock()
    ws.member("app", 'itoa = "1"')
    new = ws.lock()
    assert b'"itoa 0.4.1"' in old and b'"itoa 1.0.1"' in new  # both versions stay locked
    diff = diff_lockfile("ws/Cargo.lock", old, new)
    assert changes(diff.reached) == {"app": ["app 0.1.0 -> 0.1.0 (dependencies changed)"]}
    assert diff.unattributed == ()
