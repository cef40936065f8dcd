"""Semantic diffs of pnpm-lock.yaml (v6, v9), package-lock.json (v3) and yarn.lock (berry).

The lockfiles are the ones pnpm 9.15, npm 11 and yarn 4 wrote for the workspace of
``test_npm_lockfiles`` (root -> a; a -> core; b -> a, core; c -> b, core, left-pad), extended
in each tool's own format with ``a`` depending on ``is-odd@3.0.1``, which depends on
``is-number@6.0.0``. Who reaches what: left-pad only ``c``; is-number ``a`` and every member
that depends on ``a`` (root, b, c), never ``core``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lanes.lockdiff import LocalPackage, LockParseError, diff_lockfile
from tests.lanes.test_npm_lockfiles import PACKAGE_LOCK, PNPM_V9, YARN_BERRY, YARN_V1

INTEGRITY_6 = (
    "sha512-Wu1VHeILBK8KAWJUAiSZQX94GmOE45Rg6/538fKw"
    "iloUu21KncEkYGPqob2oSZ5mUT73vLGrHQjKw3KMPwfDzg=="
)
INTEGRITY_7 = (
    "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD74"
    "1+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng=="
)
ODD = (
    "sha512-CQpnWPrDwmP1+SMHXZhtLtJv90yiyVfluGsX5iNC"
    "VkrhQtU3TQHsUWPG9wkdk9Lgd5yNpAg9jQEo90CBaXgWMA=="
)

# --- pnpm ------------------------------------------------------------------------------------

PNPM = (
    PNPM_V9.replace(
        "  packages/a:\n    devDependencies:",
        "  packages/a:\n    dependencies:\n      is-odd:\n        specifier: ^3.0.1\n"
        "        version: 3.0.1\n    devDependencies:",
    )
    .replace(
        "packages:\n\n",
        "packages:\n\n"
        f"  is-number@6.0.0:\n    resolution: {{integrity: {INTEGRITY_6}}}\n"
        "    engines: {node: '>=0.10.0'}\n\n"
        f"  is-odd@3.0.1:\n    resolution: {{integrity: {ODD}}}\n    engines: {{node: '>=4'}}\n\n",
    )
    .replace(
        "snapshots:\n\n",
        "snapshots:\n\n  is-number@6.0.0: {}\n\n"
        "  is-odd@3.0.1:\n    dependencies:\n      is-number: 6.0.0\n\n",
    )
)


def pnpm_v6(v9: str) -> str:
    """The same lock as pnpm 8 writes it (lockfile v6: ``/name@version`` keys, no snapshots)."""
    head, rest = v9.replace("lockfileVersion: '9.0'", "lockfileVersion: '6.0'").split(
        "\npackages:\n"
    )
    packages, snapshots = rest.split("\nsnapshots:\n")
    blocks = {}
    for block in packages.strip().split("\n\n"):
        key, body = block.split(":\n", 1)
        blocks[key.strip()] = body
    out = []
    for block in snapshots.strip().split("\n\n"):
        key, _, body = block.partition(":")
        key = key.strip()
        deps = body.strip("\n") if body.strip() != "{}" else ""
        out.append(
            f"  /{key}:\n{blocks[key]}\n" + (f"{deps}\n" if deps else "") + "    dev: false\n"
        )
    return head + "\npackages:\n\n" + "\n".join(out)


def is_number_7(text: str) -> str:
    return (
        text.replace("is-number@6.0.0", "is-number@7.0.0")
        .replace("is-number: 6.0.0", "is-number: 7.0.0")
        .replace(INTEGRITY_6, INTEGRITY_7)
    )


def described(diff: Any) -> dict[str, list[str]]:
    return {
        m.name if m.directory is None else m.directory: [c.describe() for c in found]
        for m, found in diff.reached.items()
    }


ALL_BUT_CORE = ["", "packages/a", "packages/b", "packages/c"]


@pytest.mark.parametrize("version", ["9.0", "6.0"])
def test_pnpm_bump_reaches_the_importers_whose_closure_holds_it(version: str) -> None:
    old = PNPM if version == "9.0" else pnpm_v6(PNPM)
    new = is_number_7(old)
    diff = diff_lockfile("pnpm-lock.yaml", old.encode(), new.encode())
    assert described(diff) == {d: ["is-number 6.0.0 -> 7.0.0"] for d in ALL_BUT_CORE}
    assert diff.unattributed == ()
    root = LocalPackage(".", "")
    assert (
        root in diff.reached and LocalPackage("packages/core", "packages/core") not in diff.reached
    )


def test_pnpm_v6_conversion_is_the_v6_format() -> None:
    v6 = pnpm_v6(PNPM)
    assert "  /is-odd@3.0.1:\n    resolution:" in v6 and "snapshots" not in v6
    assert "      is-number: 6.0.0\n    dev: false" in v6


def test_pnpm_leaf_package_reaches_only_its_importer_in_a_subdirectory() -> None:
    new = PNPM.replace("left-pad@1.3.0", "left-pad@1.3.1").replace(
        "version: 1.3.0", "version: 1.3.1"
    )
    diff = diff_lockfile("web/pnpm-lock.yaml", PNPM.encode(), new.encode())
    assert described(diff) == {"web/packages/c": ["left-pad 1.3.0 -> 1.3.1"]}
    assert list(diff.reached) == [LocalPackage("packages/c", "web/packages/c")]


def test_pnpm_integrity_only_change() -> None:
    new = PNPM.replace(INTEGRITY_6, INTEGRITY_7)
    diff = diff_lockfile("pnpm-lock.yaml", PNPM.encode(), new.encode())
    assert described(diff)["packages/a"] == ["is-number 6.0.0 -> 6.0.0 (checksum changed)"]


def test_pnpm_settings_are_unattributed() -> None:
    new = PNPM.replace("autoInstallPeers: true", "autoInstallPeers: false")
    new += "\noverrides:\n  is-number: 6.0.0\n"
    diff = diff_lockfile("pnpm-lock.yaml", PNPM.encode(), new.encode())
    assert diff.reached == {}
    assert diff.unattributed == (
        "pnpm-lock.yaml: overrides added",
        "pnpm-lock.yaml: settings changed",
    )


def test_pnpm_importer_that_drops_a_package_is_reached() -> None:
    new = PNPM.replace("      left-pad:\n        specifier: ^1.3.0\n        version: 1.3.0\n", "")
    diff = diff_lockfile("pnpm-lock.yaml", PNPM.encode(), new.encode())
    assert described(diff) == {
        "packages/c": ["packages/c (importer) -> (importer) (dependencies changed)"]
    }


def test_pnpm_unknown_version_and_garbage_raise() -> None:
    with pytest.raises(LockParseError, match=r"unsupported pnpm lockfileVersion '5.4'"):
        diff_lockfile("pnpm-lock.yaml", b"lockfileVersion: 5.4\n", None)
    with pytest.raises(LockParseError, match=r"^pnpm-lock.yaml:2: invalid YAML"):
        diff_lockfile("pnpm-lock.yaml", None, b"lockfileVersion: '9.0'\n  - [\n")


def test_pnpm_reference_to_a_missing_package_is_unattributed() -> None:
    old = PNPM.replace("version: 1.3.0", "version: 1.3.9")
    new = is_number_7(old)
    diff = diff_lockfile("pnpm-lock.yaml", old.encode(), new.encode())
    assert (
        "pnpm-lock.yaml: dependency left-pad@1.3.9 of importer packages/c is not in the lockfile"
        in diff.unattributed
    )


# --- npm -------------------------------------------------------------------------------------


def npm_lock(is_number: str = "6.0.0", nested: str | None = None) -> bytes:
    lock: dict[str, Any] = json.loads(json.dumps(PACKAGE_LOCK))
    packages = lock["packages"]
    packages["packages/a"]["dependencies"] = {"is-odd": "^3.0.1"}
    packages["node_modules/is-odd"] = {
        "version": "3.0.1",
        "resolved": "https://registry.npmjs.org/is-odd/-/is-odd-3.0.1.tgz",
        "integrity": ODD,
        "license": "MIT",
        "dependencies": {"is-number": "^6.0.0"},
        "engines": {"node": ">=4"},
    }
    packages["node_modules/is-number"] = {
        "version": is_number,
        "resolved": f"https://registry.npmjs.org/is-number/-/is-number-{is_number}.tgz",
        "integrity": INTEGRITY_6 if is_number == "6.0.0" else INTEGRITY_7,
        "license": "MIT",
    }
    if nested is not None:  # c gets its own is-number 7 (npm nests the second version)
        packages["packages/c"]["dependencies"]["is-number"] = "^7.0.0"
        packages["packages/c/node_modules/is-number"] = {
            "version": nested,
            "resolved": f"https://registry.npmjs.org/is-number/-/is-number-{nested}.tgz",
            "integrity": INTEGRITY_7 if nested == "7.0.0" else INTEGRITY_6,
        }
    return json.dumps(dict(sorted(lock.items())), indent=2).encode()


def test_npm_bump_reaches_the_workspaces_that_use_it() -> None:
    diff = diff_lockfile("package-lock.json", npm_lock(), npm_lock("6.0.1"))
    assert described(diff) == {d: ["is-number 6.0.0 -> 6.0.1"] for d in ALL_BUT_CORE}
    assert diff.unattributed == ()
    assert LocalPackage("root", "") in diff.reached
    assert LocalPackage("a", "packages/a") in diff.reached  # named through its link


def test_npm_two_versions_of_one_name_are_told_apart() -> None:
    old, new = npm_lock(nested="7.0.0"), npm_lock(nested="7.0.1")
    diff = diff_lockfile("package-lock.json", old, new)
    assert described(diff) == {"packages/c": ["is-number 7.0.0 -> 7.0.1"]}
    hoisted = diff_lockfile("package-lock.json", old, npm_lock("6.0.1", nested="7.0.0"))
    assert described(hoisted) == {d: ["is-number 6.0.0 -> 6.0.1"] for d in ALL_BUT_CORE}


def test_npm_settings_and_version_checks() -> None:
    new = json.loads(npm_lock())
    new["requires"] = False
    diff = diff_lockfile("package-lock.json", npm_lock(), json.dumps(new).encode())
    assert diff[:2] == ({}, ("package-lock.json: requires changed",))
    with pytest.raises(LockParseError, match=r"unsupported package-lock lockfileVersion 1"):
        diff_lockfile("package-lock.json", b'{"lockfileVersion": 1, "dependencies": {}}', None)
    with pytest.raises(LockParseError, match=r"^package-lock.json:2: invalid JSON"):
        diff_lockfile("package-lock.json", b'{\n"a": }', None)


# --- yarn berry ------------------------------------------------------------------------------

YARN_EXTRA = """
"is-number@npm:^6.0.0":
  version: 6.0.0
  resolution: "is-number@npm:6.0.0"
  checksum: 10c0/b1b4b9e2b2c1b1a5e4c8a1d6a2e5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8
  languageName: node
  linkType: hard

"is-odd@npm:^3.0.1":
  version: 3.0.1
  resolution: "is-odd@npm:3.0.1"
  dependencies:
    is-number: "npm:^6.0.0"
  checksum: 10c0/1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b
  languageName: node
  linkType: hard
"""
YARN = (
    YARN_BERRY.replace(
        '  resolution: "a@workspace:packages/a"\n  dependencies:\n',
        '  resolution: "a@workspace:packages/a"\n  dependencies:\n    is-odd: "npm:^3.0.1"\n',
    )
    + YARN_EXTRA
)


def test_yarn_berry_bump_reaches_the_workspaces_that_use_it() -> None:
    new = YARN.replace("version: 6.0.0", "version: 6.0.1").replace(
        "is-number@npm:6.0.0", "is-number@npm:6.0.1"
    )
    diff = diff_lockfile("yarn.lock", YARN.encode(), new.encode())
    assert described(diff) == {d: ["is-number 6.0.0 -> 6.0.1"] for d in ALL_BUT_CORE}
    assert LocalPackage("root", "") in diff.reached and diff.unattributed == ()


def test_yarn_berry_checksum_and_metadata() -> None:
    new = YARN.replace("10c0/b1b4", "10c0/ffff")
    diff = diff_lockfile("yarn.lock", YARN.encode(), new.encode())
    assert described(diff)["packages/a"] == ["is-number 6.0.0 -> 6.0.0 (checksum changed)"]
    new = YARN.replace("cacheKey: 10c0", "cacheKey: 10c1")
    assert diff_lockfile("yarn.lock", YARN.encode(), new.encode())[:2] == (
        {},
        ("yarn.lock: __metadata changed",),
    )


def test_yarn_patched_package_is_reached_through_what_it_patches() -> None:
    patch = (
        '\n"is-number@patch:is-number@npm%3A^6.0.0#~/.yarn/patches/n.patch":\n'
        "  version: 6.0.0\n"
        '  resolution: "is-number@patch:is-number@npm%3A6.0.0#~/.yarn/patches/n.patch'
        '::version=6.0.0&hash=1"\n  checksum: 10c0/aa\n  languageName: node\n  linkType: hard\n'
    )
    old = YARN + patch
    new = old.replace("hash=1", "hash=2")
    diff = diff_lockfile("yarn.lock", old.encode(), new.encode())
    assert diff.unattributed == ()
    assert set(described(diff)) == set(ALL_BUT_CORE)


def test_yarn_classic_and_unknown_versions_raise() -> None:
    with pytest.raises(LockParseError, match="yarn classic lockfile is not supported"):
        diff_lockfile("yarn.lock", YARN.encode(), YARN_V1.encode())
    with pytest.raises(LockParseError, match=r"unsupported yarn.lock __metadata version 99"):
        diff_lockfile("yarn.lock", b"__metadata:\n  version: 99\n", None)


@pytest.mark.parametrize(
    ("path", "text"),
    [("pnpm-lock.yaml", PNPM), ("package-lock.json", npm_lock().decode()), ("yarn.lock", YARN)],
)
def test_added_deleted_and_unchanged_js_locks(path: str, text: str) -> None:
    members = diff_lockfile(path, None, text.encode()).reached
    assert {m.directory for m in members} == {*ALL_BUT_CORE, "packages/core"}
    assert diff_lockfile(path, text.encode(), None).reached.keys() == members.keys()
    assert diff_lockfile(path, text.encode(), text.encode())[:2] == ({}, ())


def test_pnpm_package_no_importer_reaches_is_unattributed() -> None:
    orphan = PNPM.replace(
        "\nsnapshots:\n",
        f"\n  orphan@1.0.0:\n    resolution: {{integrity: {ODD}}}\n\nsnapshots:\n",
    )
    bumped = orphan.replace("orphan@1.0.0", "orphan@1.0.1")
    diff = diff_lockfile("pnpm-lock.yaml", orphan.encode(), bumped.encode())
    assert diff[:2] == (
        {},
        ("pnpm-lock.yaml: orphan 1.0.0 -> 1.0.1: no workspace member reaches it",),
    )


def test_npm_link_to_a_directory_the_lock_lacks_is_unattributed() -> None:
    lock = json.loads(npm_lock())
    lock["packages"]["node_modules/core"]["resolved"] = "packages/gone"
    old = json.dumps(lock).encode()
    new = old.replace(b"is-number-6.0.0.tgz", b"is-number-6.0.1.tgz")
    diff = diff_lockfile("package-lock.json", old, new)
    assert "package-lock.json: dependency core of packages/a is not in the lockfile" in (
        diff.unattributed
    )


def test_npm_workspace_version_bump_is_its_own_change() -> None:
    lock = json.loads(npm_lock())
    lock["packages"]["packages/core"]["version"] = "1.1.0"
    diff = diff_lockfile("package-lock.json", npm_lock(), json.dumps(lock).encode())
    assert described(diff) == {"packages/core": ["core 1.0.0 -> 1.1.0 (version changed)"]}


def test_yarn_link_and_portal_dependencies_bound_to_their_parent_are_followed() -> None:
    """yarn keys a relative ``link:``/``portal:`` dependency's entry by the package depending
    on it (``d@portal:../d::locator=c%40workspace%3Apackages%2Fc``); the lock diff used to call
    it "not in the lockfile", leave every change of such a lock unattributed and so run every
    lane. Locks written by yarn 4.18.1; the second adds ``b`` to ``c``'s dependencies."""
    data = Path(__file__).resolve().parent / "data" / "jslocks"
    old = (data / "link-portal-yarn4.yarn.lock").read_bytes()
    new = (data / "link-portal-added-yarn4.yarn.lock").read_bytes()
    diff = diff_lockfile("yarn.lock", old, new)
    assert diff.unattributed == ()
    assert set(diff.reached) == {LocalPackage("c", "packages/c")}  # b's entry resolves as before
