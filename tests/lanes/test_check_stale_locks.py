"""``lanes check`` on stale lockfiles: a manifest edge the committed lock does not record (for
pnpm: not in the field and with the specifier ``pnpm install --frozen-lockfile`` expects, peers
included), and a member it does not list, are warnings (``--strict``: failures); a fresh lock
gives neither, and selection follows the manifests either way. Real files in temporary git
repositories; the Cargo cases are in test_cli_cargo_semantics and the differential ones beside
each ecosystem's differential tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lanes.test_cli_cargo import lanes
from tests.lanes.test_cli_cargo_semantics import make_repo, selected

LANES_YML = (
    "version: 1\nlanes:\n  a:\n    roots: [a]\n    run: python -c pass\n"
    "  b:\n    roots: [b]\n    run: python -c pass\n"
)


def pyproject(name: str, deps: str = "") -> str:
    sources = "[tool.uv.sources]\nb = { workspace = true }\n" if deps else ""
    return f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [{deps}]\n{sources}'


def uv_lock(*packages: tuple[str, str, str]) -> str:
    """(name, directory, dependencies block) entries of a uv.lock."""
    text = 'version = 1\nrequires-python = ">=3.11"\n'
    for name, directory, deps in packages:
        text += f'\n[[package]]\nname = "{name}"\nversion = "0.1.0"\n'
        text += f'source = {{ editable = "{directory}" }}\n{deps}'
    return text


UV = {
    "pyproject.toml": '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
    "packages/a/pyproject.toml": pyproject("a", '"b"'),
    "packages/b/pyproject.toml": pyproject("b"),
    "lanes.yml": LANES_YML,
}
UV_FRESH = uv_lock(
    ("a", "packages/a", 'dependencies = [\n    { name = "b" },\n]\n'), ("b", "packages/b", "")
)
UV_STALE = uv_lock(("a", "packages/a", ""), ("b", "packages/b", ""))
UV_ABSENT = uv_lock(("b", "packages/b", ""))
STALE_UV = (
    "a -> b (normal) is stated by packages/a/pyproject.toml but not recorded by uv.lock: lanes "
    "follows the manifest; the lock is stale: run uv lock"
)


def check(repo: Path, *args: str) -> tuple[int, str]:
    result = lanes(repo, "check", *args)
    return result.returncode, result.stdout + result.stderr


def test_uv_a_manifest_edge_the_lock_does_not_record(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**UV, "uv.lock": UV_STALE})
    assert selected(repo, "packages/b/b.py") == {"a", "b"}
    code, out = check(repo)
    assert code == 0, out
    assert f"warn lanes.yml: {STALE_UV}" in out
    code, out = check(repo, "--strict")
    assert code == 1
    assert f"FAIL lanes.yml: {STALE_UV}" in out


def test_uv_a_fresh_lock_and_no_lock_say_nothing(tmp_path: Path) -> None:
    for name, lock in (("fresh", {"uv.lock": UV_FRESH}), ("none", {})):
        repo = make_repo(tmp_path / name, {**UV, **lock})
        code, out = check(repo, "--strict")
        assert code == 0, out
        assert "lock" not in out


def test_uv_a_member_the_lock_does_not_list(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {**UV, "uv.lock": UV_ABSENT})
    code, out = check(repo)
    assert code == 0, out
    assert (
        "warn lanes.yml: a (packages/a/pyproject.toml) is not listed by uv.lock: lanes follows "
        "the manifests; the lock is stale: run uv lock"
    ) in out
    assert "a -> b" not in out
    assert check(repo, "--strict")[0] == 1


def package_json(name: str, deps: dict[str, str] | None = None) -> str:
    body: dict[str, object] = {"name": name, "version": "1.0.0"}
    if deps:
        body["dependencies"] = deps
    return json.dumps(body) + "\n"


JS = {
    "package.json": json.dumps({"private": True, "workspaces": ["packages/*"]}) + "\n",
    "pnpm-workspace.yaml": "packages:\n  - packages/*\n",
    "packages/a/package.json": package_json("a", {"b": "workspace:*"}),
    "packages/b/package.json": package_json("b"),
    "lanes.yml": LANES_YML,
}


def pnpm_lock(a_deps: bool, with_a: bool = True) -> str:
    text = "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n"
    if with_a:
        text += "\n  packages/a:" + ("\n" if a_deps else " {}\n")
        if a_deps:
            text += "    dependencies:\n      b:\n        specifier: workspace:*\n"
            text += "        version: link:../b\n"
    return text + "\n  packages/b: {}\n"


def npm_lock(a_deps: bool, with_a: bool = True) -> str:
    packages: dict[str, object] = {"": {"workspaces": ["packages/*"]}}
    if with_a:
        packages["node_modules/a"] = {"resolved": "packages/a", "link": True}
        packages["packages/a"] = {"name": "a", "version": "1.0.0"}
        if a_deps:
            packages["packages/a"] = {**packages["packages/a"], "dependencies": {"b": "*"}}  # type: ignore[dict-item]
    packages["node_modules/b"] = {"resolved": "packages/b", "link": True}
    packages["packages/b"] = {"name": "b", "version": "1.0.0"}
    data = {"name": "root", "lockfileVersion": 3, "requires": True, "packages": packages}
    return json.dumps(data, indent=2) + "\n"


def yarn_lock(a_deps: bool, with_a: bool = True) -> str:
    text = "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"
    if with_a:
        text += '"a@workspace:packages/a":\n  version: 0.0.0-use.local\n'
        text += '  resolution: "a@workspace:packages/a"\n'
        if a_deps:
            text += '  dependencies:\n    b: "workspace:*"\n'
        text += "  languageName: unknown\n  linkType: soft\n\n"
    text += '"b@workspace:*, b@workspace:packages/b":\n  version: 0.0.0-use.local\n'
    text += '  resolution: "b@workspace:packages/b"\n  languageName: unknown\n  linkType: soft\n\n'
    text += '"root@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "root@workspace:."\n'
    return text + "  languageName: unknown\n  linkType: soft\n"


LOCKS = {
    "pnpm-lock.yaml": (pnpm_lock, "pnpm install"),
    "package-lock.json": (npm_lock, "npm install"),
    "yarn.lock": (yarn_lock, "yarn install"),
}


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_manifest_edge_the_lock_does_not_record(lockfile: str, tmp_path: Path) -> None:
    write, command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(False)})
    assert selected(repo, "packages/b/index.js") == {"a", "b"}
    expected = (
        f"a -> b (normal) is stated by packages/a/package.json but not recorded by {lockfile}: "
        f"lanes follows the manifest; the lock is stale: run {command}"
    )
    code, out = check(repo)
    assert code == 0, out
    assert f"warn lanes.yml: {expected}" in out
    code, out = check(repo, "--strict")
    assert code == 1
    assert f"FAIL lanes.yml: {expected}" in out


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_fresh_lock_says_nothing(lockfile: str, tmp_path: Path) -> None:
    write, _command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(True)})
    code, out = check(repo, "--strict")
    assert code == 0, out
    assert "lock" not in out


@pytest.mark.parametrize("lockfile", sorted(LOCKS))
def test_js_a_member_the_lock_does_not_list(lockfile: str, tmp_path: Path) -> None:
    write, command = LOCKS[lockfile]
    repo = make_repo(tmp_path / "repo", {**JS, lockfile: write(True, with_a=False)})
    code, out = check(repo)
    assert code == 0, out
    assert (
        f"warn lanes.yml: a (packages/a/package.json) is not listed by {lockfile}: lanes "
        f"follows the manifests; the lock is stale: run {command}"
    ) in out
    assert check(repo, "--strict")[0] == 1


# --- pnpm: the field and specifier pnpm install --frozen-lockfile compares -------------------

SETTINGS_ON = "settings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\n"


def pnpm_v9(a_entry: str, settings: str = SETTINGS_ON, top: str = "") -> str:
    """A v9 lock whose importer ``packages/a`` holds ``a_entry`` (its indented fields)."""
    a = "\n  packages/a:\n" + a_entry if a_entry else "\n  packages/a: {}\n"
    head = f"lockfileVersion: '9.0'\n\n{settings}{top}importers:\n\n  .: {{}}\n"
    return f"{head}{a}\n  packages/b: {{}}\n"


def pnpm_dep(field: str, specifier: str, version: str = "link:../b") -> str:
    return f"    {field}:\n      b:\n        specifier: {specifier}\n        version: {version}\n"


def js_repo(tmp_path: Path, a_fields: dict[str, dict[str, str]], lock: str) -> Path:
    body: dict[str, object] = {"name": "a", "version": "1.0.0", **a_fields}
    files = {**JS, "packages/a/package.json": json.dumps(body) + "\n", "pnpm-lock.yaml": lock}
    return make_repo(tmp_path / "repo", files)


def pnpm_warning(kind: str, stated: str, recorded: str) -> str:
    return (
        f"a -> b ({kind}) is stated by packages/a/package.json as {stated} but pnpm-lock.yaml "
        f"records {recorded}: lanes follows the manifest; the lock is stale: run pnpm install"
    )


def assert_warns(repo: Path, expected: str) -> None:
    """``expected`` is a warning (cold and warm: the second run reads the cached index) and a
    failure with ``--strict``; selection still follows the manifest."""
    for _run in ("cold", "warm"):
        code, out = check(repo)
        assert code == 0, out
        assert f"warn lanes.yml: {expected}" in out, out
    code, out = check(repo, "--strict")
    assert code == 1, out
    assert f"FAIL lanes.yml: {expected}" in out
    assert selected(repo, "packages/b/index.js") == {"a", "b"}


def assert_fresh(repo: Path) -> None:
    code, out = check(repo, "--strict")
    assert code == 0, out
    assert "lock" not in out


@pytest.mark.parametrize(
    ("field", "kind"),
    [("dependencies", "normal"), ("devDependencies", "dev"), ("optionalDependencies", "normal")],
)
def test_pnpm_a_workspace_specifier_the_lock_does_not_follow(
    field: str, kind: str, tmp_path: Path
) -> None:
    lock = pnpm_v9(pnpm_dep(field, "workspace:*"))
    assert_fresh(js_repo(tmp_path / "fresh", {field: {"b": "workspace:*"}}, lock))
    repo = js_repo(tmp_path / "stale", {field: {"b": "workspace:^"}}, lock)
    stated = f'{field} "b": "workspace:^"'
    assert_warns(repo, pnpm_warning(kind, stated, f"{field} b specifier workspace:*"))


@pytest.mark.parametrize(
    ("manifest_field", "lock_field", "kind"),
    [
        ("devDependencies", "dependencies", "dev"),
        ("dependencies", "devDependencies", "normal"),
        ("optionalDependencies", "dependencies", "normal"),
    ],
)
def test_pnpm_a_dependency_moved_to_another_field(
    manifest_field: str, lock_field: str, kind: str, tmp_path: Path
) -> None:
    fields = {manifest_field: {"b": "workspace:*"}}
    repo = js_repo(tmp_path, fields, pnpm_v9(pnpm_dep(lock_field, "workspace:*")))
    stated = f'{manifest_field} "b": "workspace:*"'
    recorded = f"{lock_field} b specifier workspace:*"
    assert_warns(repo, pnpm_warning(kind, stated, recorded))


def test_pnpm_a_name_in_two_fields_is_recorded_once_as_pnpm_ranks_them(tmp_path: Path) -> None:
    """pnpm records a name listed in several fields once: optionalDependencies over
    dependencies over devDependencies, with that field's specifier."""
    fields = {"dependencies": {"b": "workspace:^"}, "devDependencies": {"b": "workspace:*"}}
    repo = js_repo(tmp_path / "fresh", fields, pnpm_v9(pnpm_dep("dependencies", "workspace:^")))
    assert_fresh(repo)
    stale = pnpm_v9(pnpm_dep("devDependencies", "workspace:*"))
    repo = js_repo(tmp_path / "stale", fields, stale)
    stated = 'dependencies "b": "workspace:^"'
    recorded = "devDependencies b specifier workspace:*"
    assert_warns(repo, pnpm_warning("normal", stated, recorded))
    assert "a -> b (dev)" not in check(repo)[1]  # one report per dependency name


def test_pnpm_v5_specifiers_are_compared(tmp_path: Path) -> None:
    lock = (
        "lockfileVersion: 5.4\n\nimporters:\n\n  .:\n    specifiers: {}\n\n  packages/a:\n"
        "    specifiers:\n      b: workspace:*\n    dependencies:\n      b: link:../b\n\n"
        "  packages/b:\n    specifiers: {}\n"
    )
    repo = js_repo(tmp_path / "fresh", {"dependencies": {"b": "workspace:*"}}, lock)
    assert_fresh(repo)
    repo = js_repo(tmp_path / "stale", {"dependencies": {"b": "workspace:~"}}, lock)
    stated = 'dependencies "b": "workspace:~"'
    assert_warns(repo, pnpm_warning("normal", stated, "dependencies b specifier workspace:*"))


def test_pnpm_a_plain_range_to_a_member_is_compared_too(tmp_path: Path) -> None:
    """A plain range naming a member is an edge; pnpm compares its specifier whether it linked
    it or resolved it from the registry."""
    lock = pnpm_v9(pnpm_dep("dependencies", "^1.0.0", version="1.0.0"))
    repo = js_repo(tmp_path / "fresh", {"dependencies": {"b": "^1.0.0"}}, lock)
    assert_fresh(repo)
    repo = js_repo(tmp_path / "stale", {"dependencies": {"b": "^1.1.0"}}, lock)
    stated = 'dependencies "b": "^1.1.0"'
    assert_warns(repo, pnpm_warning("normal", stated, "dependencies b specifier ^1.0.0"))


# --- peerDependencies: edges, compared as the lockfile records them --------------------------

PEER = {"peerDependencies": {"b": "workspace:*"}}
SETTINGS_OFF = "settings:\n  autoInstallPeers: false\n  excludeLinksFromLockfile: false\n\n"


def test_pnpm_a_workspace_peer_auto_installed(tmp_path: Path) -> None:
    """With autoInstallPeers on, pnpm records a peer in the importer's dependencies."""
    repo = js_repo(tmp_path / "fresh", PEER, pnpm_v9(pnpm_dep("dependencies", "workspace:*")))
    assert_fresh(repo)
    repo = js_repo(tmp_path / "absent", PEER, pnpm_v9(""))
    assert_warns(
        repo,
        "a -> b (normal) is stated by packages/a/package.json but not recorded by "
        "pnpm-lock.yaml: lanes follows the manifest; the lock is stale: run pnpm install",
    )
    repo = js_repo(tmp_path / "range", PEER, pnpm_v9(pnpm_dep("dependencies", "workspace:^")))
    stated = 'peerDependencies "b": "workspace:*" (autoInstallPeers: true)'
    assert_warns(repo, pnpm_warning("normal", stated, "dependencies b specifier workspace:^"))


def test_pnpm_a_workspace_peer_without_auto_install(tmp_path: Path) -> None:
    """With autoInstallPeers off pnpm does not record peers: their absence is fresh, and an
    importer that records one is stale."""
    repo = js_repo(tmp_path / "fresh", PEER, pnpm_v9("", SETTINGS_OFF))
    assert_fresh(repo)
    lock = pnpm_v9(pnpm_dep("dependencies", "workspace:*"), SETTINGS_OFF)
    repo = js_repo(tmp_path / "stale", PEER, lock)
    stated = 'peerDependencies "b": "workspace:*" (autoInstallPeers: false)'
    assert_warns(repo, pnpm_warning("normal", stated, "dependencies b specifier workspace:*"))


def test_pnpm_a_workspace_peer_in_a_lock_without_settings(tmp_path: Path) -> None:
    """A lock without ``settings`` does not say whether peers were auto-installed: absent or
    recorded in dependencies with the peer's specifier are both fresh, anything else not."""
    for name, entry in (("absent", ""), ("dependencies", pnpm_dep("dependencies", "workspace:*"))):
        assert_fresh(js_repo(tmp_path / name, PEER, pnpm_v9(entry, settings="")))
    lock = pnpm_v9(pnpm_dep("devDependencies", "workspace:*"), settings="")
    repo = js_repo(tmp_path / "stale", PEER, lock)
    stated = 'peerDependencies "b": "workspace:*" (a lock without settings)'
    assert_warns(repo, pnpm_warning("normal", stated, "devDependencies b specifier workspace:*"))


def npm_peer_lock(with_peer: bool) -> str:
    data = json.loads(npm_lock(False))
    if with_peer:
        data["packages"]["packages/a"]["peerDependencies"] = {"b": "*"}
    return json.dumps(data, indent=2) + "\n"


def yarn_peer_lock(with_peer: bool) -> str:
    text = yarn_lock(False)
    peer = '  peerDependencies:\n    b: "workspace:*"\n' if with_peer else ""
    return text.replace(
        '  languageName: unknown\n  linkType: soft\n\n"b@',
        f'{peer}  languageName: unknown\n  linkType: soft\n\n"b@',
        1,
    )


@pytest.mark.parametrize(
    ("lockfile", "write", "command"),
    [
        ("package-lock.json", npm_peer_lock, "npm install"),
        ("yarn.lock", yarn_peer_lock, "yarn install"),
    ],
)
def test_npm_and_yarn_a_workspace_peer_the_lock_does_not_name(
    lockfile: str, write: object, command: str, tmp_path: Path
) -> None:
    """package-lock and yarn berry copy a workspace's peerDependencies into its entry."""
    assert callable(write)
    spec = "*" if lockfile == "package-lock.json" else "workspace:*"
    body = {"name": "a", "version": "1.0.0", "peerDependencies": {"b": spec}}
    files = {**JS, "packages/a/package.json": json.dumps(body) + "\n"}
    repo = make_repo(tmp_path / "fresh", {**files, lockfile: write(True)})
    assert_fresh(repo)
    repo = make_repo(tmp_path / "stale", {**files, lockfile: write(False)})
    assert_warns(
        repo,
        f"a -> b (normal) is stated by packages/a/package.json but not recorded by {lockfile}: "
        f"lanes follows the manifest; the lock is stale: run {command}",
    )


# --- what pnpm does not compare ---------------------------------------------------------------


def test_pnpm_links_excluded_from_the_lockfile_are_not_compared(tmp_path: Path) -> None:
    settings = "settings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: true\n\n"
    repo = js_repo(
        tmp_path / "excluded", {"dependencies": {"b": "link:../b"}}, pnpm_v9("", settings)
    )
    assert_fresh(repo)
    repo = js_repo(tmp_path / "kept", {"dependencies": {"b": "link:../b"}}, pnpm_v9(""))
    assert_warns(
        repo,
        "a -> b (normal) is stated by packages/a/package.json but not recorded by "
        "pnpm-lock.yaml: lanes follows the manifest; the lock is stale: run pnpm install",
    )


def test_pnpm_ignored_optional_dependencies_are_not_recorded(tmp_path: Path) -> None:
    optional = {"optionalDependencies": {"b": "workspace:*"}}
    ignored = "ignoredOptionalDependencies:\n  - 'b*'\n  - '!bar'\n\n"
    repo = js_repo(tmp_path / "ignored", optional, pnpm_v9("", top=ignored))
    assert_fresh(repo)
    negated = "ignoredOptionalDependencies:\n  - '*'\n  - '!b'\n\n"
    repo = js_repo(tmp_path / "negated", optional, pnpm_v9("", top=negated))
    assert_warns(
        repo,
        "a -> b (normal) is stated by packages/a/package.json but not recorded by "
        "pnpm-lock.yaml: lanes follows the manifest; the lock is stale: run pnpm install",
    )
    only_negated = "ignoredOptionalDependencies:\n  - '!c'\n\n"
    assert_fresh(js_repo(tmp_path / "only-negated", optional, pnpm_v9("", top=only_negated)))
    lock = pnpm_v9(pnpm_dep("optionalDependencies", "workspace:*"), top=ignored)
    repo = js_repo(tmp_path / "recorded", optional, lock)
    stated = 'optionalDependencies "b": "workspace:*" (ignoredOptionalDependencies)'
    recorded = "optionalDependencies b specifier workspace:*"
    assert_warns(repo, pnpm_warning("normal", stated, recorded))


def test_pnpm_an_unquoted_numeric_specifier_is_read_as_text(tmp_path: Path) -> None:
    """``specifier: 1`` (a hand-edited lock; pnpm quotes it) is the text ``1``."""
    lock = pnpm_v9(pnpm_dep("dependencies", "1", version="1.0.0"))
    assert_fresh(js_repo(tmp_path / "fresh", {"dependencies": {"b": "1"}}, lock))
    repo = js_repo(tmp_path / "stale", {"dependencies": {"b": "1.0"}}, lock)
    stated = 'dependencies "b": "1.0"'
    assert_warns(repo, pnpm_warning("normal", stated, "dependencies b specifier 1"))
