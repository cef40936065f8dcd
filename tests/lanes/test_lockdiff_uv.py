"""Semantic uv.lock diffs, on the lock uv wrote for ``test_cli_python``'s workspace (app ->
core, requests; app's extra ``full`` -> extra-dep) with registry packages added in uv's format,
and on the uv-written locks of ``data/uv_workspaces.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lanes.lockdiff import LocalPackage, LockParseError, diff_lockfile
from tests.lanes.test_cli_python import DYNAMIC_LOCK

PYPI = '{ registry = "https://pypi.org/simple" }'


UPLOADED = 'upload-time = "2024-05-29T15:37:49.536Z"'


def files(name: str, version: str, digest: str) -> str:
    url = f"https://files.pythonhosted.org/packages/{name}-{version}"
    sha = f"sha256:{digest * 64}"
    return (
        f'sdist = {{ url = "{url}.tar.gz", hash = "{sha}", size = 131218, {UPLOADED} }}\n'
        f'wheels = [\n    {{ url = "{url}-py3-none-any.whl", hash = "{sha}", size = 64928 }},\n]\n'
    )


def dependency(version: str | None) -> str:
    """A dependency on urllib3 as uv writes it: the version and source only when two are locked."""
    if version is None:
        return '    { name = "urllib3" },\n'
    return f'    {{ name = "urllib3", version = "{version}", source = {PYPI} }},\n'


def package(name: str, version: str, digest: str) -> str:
    return f'\n[[package]]\nname = "{name}"\nversion = "{version}"\nsource = {PYPI}\n' + (
        files(name, version, digest)
    )


def lock(urllib3: str = "2.2.2", digest: str = "a", old_urllib3: str | None = None) -> bytes:
    """``old_urllib3``: a second urllib3 that extra-dep needs (uv forks on the marker)."""
    requests = f'name = "requests"\nversion = "2.32.3"\nsource = {PYPI}\n'
    assert requests in DYNAMIC_LOCK
    text = DYNAMIC_LOCK.replace(
        requests,
        requests
        + f"dependencies = [\n{dependency(urllib3 if old_urllib3 else None)}]\n"
        + files("requests", "2.32.3", "b"),
    )
    extra = 'name = "extra-dep"\nversion = "0.1.0"\nsource = { editable = "packages/extra-dep" }\n'
    assert extra in text
    text = text.replace(extra, extra + f"dependencies = [\n{dependency(old_urllib3)}]\n")
    text += package("urllib3", urllib3, digest)
    if old_urllib3:
        text += package("urllib3", old_urllib3, "c")
    return text.encode()


def described(diff_reached: dict[LocalPackage, tuple[object, ...]]) -> dict[str, list[str]]:
    return {
        str(m.directory): [c.describe() for c in found]  # type: ignore[attr-defined]
        for m, found in diff_reached.items()
    }


def test_a_bump_reaches_the_members_whose_closure_holds_it() -> None:
    diff = diff_lockfile("py/uv.lock", lock(), lock("2.2.3"))
    assert described(diff.reached) == {
        "py/packages/app": ["urllib3 2.2.2 -> 2.2.3"],
        "py/packages/extra-dep": ["urllib3 2.2.2 -> 2.2.3"],
    }
    assert LocalPackage("app", "py/packages/app") in diff.reached
    assert diff.unattributed == ()


def test_a_direct_dependency_of_one_member() -> None:
    old = lock()
    new = old.replace(b'version = "2.32.3"', b'version = "2.32.4"')
    assert described(diff_lockfile("uv.lock", old, new).reached) == {
        "packages/app": ["requests 2.32.3 -> 2.32.4"]
    }


def test_a_hash_change_is_a_checksum_change() -> None:
    diff = diff_lockfile("uv.lock", lock(), lock(digest="d"))
    assert described(diff.reached)["packages/extra-dep"] == [
        "urllib3 2.2.2 -> 2.2.2 (checksum changed)"
    ]


def test_two_versions_of_one_name_are_told_apart() -> None:
    old, new = lock("2.2.2", old_urllib3="1.26.19"), lock("2.2.2", old_urllib3="1.26.20")
    assert described(diff_lockfile("uv.lock", old, new).reached) == {
        "packages/app": ["urllib3 1.26.19 -> 1.26.20"],  # through its extra `full`
        "packages/extra-dep": ["urllib3 1.26.19 -> 1.26.20"],
    }
    bumped = lock("2.2.3", old_urllib3="1.26.19")
    assert described(diff_lockfile("uv.lock", old, bumped).reached) == {
        "packages/app": ["urllib3 2.2.2 -> 2.2.3"]
    }


def test_settings_are_unattributed() -> None:
    old = lock()
    new = old.replace(b'requires-python = ">=3.11"', b'requires-python = ">=3.12"')
    new = new.replace(b"revision = 3", b"revision = 4")
    assert diff_lockfile("uv.lock", old, new)[:2] == (
        {},
        ("uv.lock: requires-python changed", "uv.lock: revision changed"),
    )


def test_unsupported_and_garbage_raise() -> None:
    with pytest.raises(LockParseError, match=r"unsupported uv.lock version 2"):
        diff_lockfile("uv.lock", lock(), lock().replace(b"version = 1\n", b"version = 2\n", 1))
    with pytest.raises(LockParseError, match=r"^uv.lock:1: invalid TOML"):
        diff_lockfile("uv.lock", b"[[package\n", None)


def real_locks() -> list[tuple[str, str]]:
    data = json.loads((Path(__file__).parent / "data" / "uv_workspaces.json").read_text())
    return [
        (path, text)
        for files in data.values()
        for path, text in files.items()
        if path.endswith("uv.lock")
    ]


def test_uv_written_locks_members_and_own_entry_changes() -> None:
    locks = real_locks()
    assert len(locks) >= 10
    for path, text in locks:
        assert diff_lockfile(path, text.encode(), text.encode())[:2] == ({}, ())
        members = diff_lockfile(path, None, text.encode()).reached
        assert len(members) == text.count("\n[[package]]\n")  # every package is local here
        assert all(m.directory is not None for m in members)
    path, text = locks[0]
    assert 'name = "pkg-2"\nversion = "0.1.0"\nsource = { editable = "packages/pkg-2" }\n' in text
    new = text.replace(
        'source = { editable = "packages/pkg-2" }\ndependencies = [\n    { name = "lib-0" },\n',
        'source = { editable = "packages/pkg-2" }\ndependencies = [\n',
    )
    assert new != text
    diff = diff_lockfile(path, text.encode(), new.encode())
    assert described(diff.reached) == {
        "packages/pkg-2": ["pkg-2 0.1.0 -> 0.1.0 (dependencies changed)"]
    }
