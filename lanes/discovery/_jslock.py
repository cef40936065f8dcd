"""The JS lockfiles as a second source of workspace edges (used by ``lanes.discovery.npm``).

Each reader turns one lockfile into :class:`LockLink` records between workspace directories:

* ``pnpm-lock.yaml`` (lockfile v5.x, v6 and v9): ``importers.<dir>.<field>.<name>`` whose
  version is ``link:<path>`` (relative to the importer) or ``file:<path>`` (an injected
  workspace package, relative to the lockfile), and whose specifier is ``workspace:``. Only the
  ``importers`` block is parsed (it precedes the large ``packages`` block), with PyYAML's safe
  loader, so the cost does not grow with the number of registry packages. Each importer's
  dependencies are also kept with their field and ``specifier`` (:attr:`LockRead.recorded`),
  with the ``settings`` block (``autoInstallPeers``, ``excludeLinksFromLockfile``) and
  ``ignoredOptionalDependencies``, for the staleness check pnpm's ``--frozen-lockfile`` makes.
* ``package-lock.json`` / ``npm-shrinkwrap.json`` (v2, v3): each workspace entry of ``packages``
  names its dependencies; each name is looked up as npm's resolver does, in
  ``<dir>/node_modules/<name>`` and then every parent's ``node_modules``, and an entry with
  ``"link": true`` leads to the workspace directory in its ``resolved``. Version 1 lockfiles
  record no workspaces.
* ``yarn.lock`` of yarn berry (2+): the entries resolved to ``<name>@workspace:<path>``, their
  descriptors, and their ``dependencies``/``peerDependencies`` that resolve to another
  workspace. Only workspace entries are parsed; their recorded ranges and ``optional`` marks are
  kept (:class:`YarnLock`) for the staleness check ``yarn install --immutable`` makes. Classic
  yarn (v1) lockfiles have no workspace entries (yarn 1 links workspaces without recording
  them), so they add no edges.

Each reader also follows the lock's third-party entries to the workspace packages they link
(:func:`_via_links`): a registry package's dependency that npm's lookup or yarn's descriptor
resolution lands on a workspace package, a pnpm snapshot's ``link:`` (``deep`` linking,
``packageExtensions``, pnpmfile hooks); a workspace depending on such an entry links that
package (name ``<dependency>>...>pkg>dep``). The entries are parsed only when the text shows one.

Every file is read only up to :data:`MAX_LOCK_BYTES`; a larger or unparsable lockfile is a
``manifest-error`` (the run is fail-safe), never an empty answer.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, unquote

from lanes.discovery._common import join_dir, line_of_text, load_json, normdir, read_text
from lanes.discovery._source import Source, Tree, as_tree
from lanes.model import EdgeKind, ManifestError

PNPM_LOCK = "pnpm-lock.yaml"
NPM_LOCKS = ("package-lock.json", "npm-shrinkwrap.json")
YARN_LOCK = "yarn.lock"
LOCKFILES = (PNPM_LOCK, *NPM_LOCKS, YARN_LOCK)
MAX_LOCK_BYTES = 64 << 20
_FIELDS: tuple[tuple[str, EdgeKind], ...] = (
    ("dependencies", "normal"),
    ("devDependencies", "dev"),
    ("optionalDependencies", "normal"),
    ("peerDependencies", "normal"),
)
_KIND = dict(_FIELDS)
_TOP_LEVEL = r"(?m)^[^\s#]"


class LockLink(NamedTuple):
    """Workspace directory ``source`` depends on the package at directory ``target`` (``None``
    when the lock's link leads outside the repository)."""

    lockfile: str
    line: int
    source: str
    target: str | None
    name: str
    kind: EdgeKind


class _Start(NamedTuple):
    """A workspace dependency on a third-party lock entry ``node``."""

    line: int
    source: str
    name: str
    kind: EdgeKind
    node: str


# A lock's answer for one manifest dependency: (directory, manifest, name) -> the (stated,
# recorded) of a LockGap, or None when the lock records it as a fresh lock does.
LockCompare = Callable[[str, dict[str, Any], str], "tuple[str, str] | None"]


class LockRead(NamedTuple):
    links: list[LockLink]
    errors: list[ManifestError]
    listed: dict[str, frozenset[str]] | None = None
    """Workspace directory -> every dependency name the lock records for it (registry ones
    too); ``None`` when the format records no workspaces (npm v1, classic yarn)."""
    pnpm: PnpmLock | None = None
    """pnpm only: what each importer records, field by field, and the lock's settings."""
    yarn: YarnLock | None = None
    """yarn berry only: what each workspace entry records for each dependency."""
    starts: tuple[_Start, ...] = ()
    """pnpm only: each importer's dependencies on third-party packages (``node`` their version)."""

    def compare(self) -> LockCompare | None:
        """The staleness check of this lock's format for one manifest dependency (``gap`` of
        :class:`PnpmLock` or :class:`YarnLock`); ``None`` when only names are compared."""
        fresh = self.pnpm or self.yarn
        return fresh.gap if fresh is not None else None


class PnpmLock(NamedTuple):
    """What ``pnpm install --frozen-lockfile`` compares with the manifests."""

    recorded: dict[str, dict[str, frozenset[tuple[str, str | None]]]]
    """Importer directory -> dependency name -> each ``(field, specifier)`` the importer
    records it with (``specifier`` ``None`` when the lock gives none)."""
    auto_install_peers: bool | None
    """``settings.autoInstallPeers``; ``None`` when the lock has no ``settings`` (v5.4,
    v6.0: pnpm writes them since 8.6)."""
    exclude_links: bool
    """``settings.excludeLinksFromLockfile``: ``link:`` dependencies are not recorded."""
    ignored_optional: tuple[str, ...]
    """``ignoredOptionalDependencies``: optional dependencies pnpm leaves out (patterns)."""

    def gap(self, directory: str, manifest: dict[str, Any], alias: str) -> tuple[str, str] | None:
        """How importer ``directory`` records dependency ``alias`` of its ``manifest`` against
        what a fresh one holds (:func:`pnpm_gap` of :func:`pnpm_expected`)."""
        recorded = self.recorded.get(directory, {}).get(alias, frozenset())
        return pnpm_gap(pnpm_expected(manifest, alias, self), recorded, alias)


def read_lockfile(source: Source, path: str) -> LockRead:
    """The workspace links recorded in lockfile ``path`` (one of :data:`LOCKFILES`, or a
    workspace package's own ``pnpm-lock.yaml``: pnpm's ``shared-workspace-lockfile=false``,
    whose importer ``.`` is that package and whose paths start there)."""
    tree = as_tree(source)
    try:
        size = tree.size(path)
    except OSError as exc:
        return LockRead([], [ManifestError(path, 0, f"cannot read lockfile: {exc.strerror}")])
    if size > MAX_LOCK_BYTES:
        message = f"lockfile larger than {MAX_LOCK_BYTES >> 20} MiB: not read"
        return LockRead([], [ManifestError(path, 0, message)])
    directory, _, name = path.rpartition("/")
    if name == PNPM_LOCK:
        return _pnpm(tree, path, directory)
    if path == YARN_LOCK:
        return _yarn(tree, path)
    return _npm(tree, path)


# --- YAML, bounded ---------------------------------------------------------------------------


def _safe_yaml(text: str, path: str, first_line: int) -> tuple[Any, ManifestError | None]:
    """``text`` (a block of ``path`` starting at ``first_line``) through PyYAML's safe loader."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader), None  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark is not None else first_line
        return None, ManifestError(path, line, f"invalid YAML: {exc}".splitlines()[0])
    except RecursionError:
        return None, ManifestError(path, first_line, "invalid YAML: nested too deeply")


def _top_level_blocks(text: str) -> Iterator[tuple[int, str]]:
    """Each top-level entry of a block-style YAML document: (1-based first line, text)."""
    starts = [match.start() for match in re.finditer(_TOP_LEVEL, text)]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        yield text.count("\n", 0, start) + 1, text[start:end]


# --- links through third-party packages -----------------------------------------------------


def _via_links(
    path: str,
    deps: Mapping[str, list[str]],
    hot: Mapping[str, dict[str, str]],
    starts: Iterable[_Start],
) -> list[LockLink]:
    """Workspace links made through third-party packages: ``deps`` is each third-party entry's
    third-party dependencies, ``hot`` the workspace directories an entry itself links
    (directory -> ``pkg>dep``), ``starts`` each workspace's dependencies on entries. A start
    whose entry reaches a hot one links its workspace to that directory, named
    ``<dependency>>...>pkg>dep``."""
    reverse: dict[str, list[str]] = {}
    for node, children in deps.items():
        for child in children:
            reverse.setdefault(child, []).append(node)
    reaches: dict[str, dict[str, str]] = {}
    for origin, linked in hot.items():
        seen = {origin}
        stack = [origin]
        while stack:
            node = stack.pop()
            for target, label in linked.items():
                reaches.setdefault(node, {}).setdefault(target, label)
            for parent in reverse.get(node, ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    links: list[LockLink] = []
    for start in starts:
        for target, label in sorted(reaches.get(start.node, {}).items()):
            name = label if label.startswith(f"{start.name}>") else f"{start.name}>...>{label}"
            links.append(LockLink(path, start.line, start.source, target, name, start.kind))
    return links


# --- pnpm ------------------------------------------------------------------------------------


def _pnpm(tree: Tree, path: str, base: str) -> LockRead:
    text, error = read_text(tree, path)
    if text is None:
        return LockRead([], [error] if error else [])
    wanted = {"importers", "dependencies", "devDependencies", "optionalDependencies", "settings"}
    wanted.add("ignoredOptionalDependencies")
    blocks: dict[str, tuple[int, Any]] = {}
    resolved: list[tuple[int, str]] = []  # the ``packages`` and ``snapshots`` blocks, unparsed
    for line, block in _top_level_blocks(text):
        key = block.split(":", 1)[0].strip().strip("'\"")
        if key in ("packages", "snapshots"):
            resolved.append((line, block))
        if key in wanted or key == "specifiers":
            data, error = _safe_yaml(block, path, line)
            if error is not None:
                return LockRead([], [error])
            if isinstance(data, dict):
                blocks[key] = (line, data.get(key))
    if not blocks and text.strip() and not text.lstrip().startswith(("lockfileVersion", "#")):
        return _pnpm_whole(text, path, base)
    top = {key: value for key, (_line, value) in blocks.items()}
    importers = blocks.get("importers")
    found = importers[1] if importers is not None else {".": top}
    read = _pnpm_importers(text, path, found, top, base)
    if read.errors or not any(_PNPM_LOCAL.search(block) for _line, block in resolved):
        return read
    entries: dict[str, Any] = {}
    for line, block in resolved:
        data, error = _safe_yaml(block, path, line)
        if error is not None:
            return LockRead([], [error])
        for value in data.values() if isinstance(data, dict) else ():
            _merge_entries(entries, value)
    via = _pnpm_via(path, entries, read.starts, base)
    return read._replace(links=read.links + via)


def _pnpm_whole(text: str, path: str, base: str) -> LockRead:
    """A lockfile not in pnpm's block style (flow style, hand-written): parse it whole."""
    data, error = _safe_yaml(text, path, 1)
    if error is not None:
        return LockRead([], [error])
    if not isinstance(data, dict):
        return LockRead([], [ManifestError(path, 1, "expected a YAML mapping")])
    importers = data.get("importers")
    found = importers if importers is not None else {".": data}
    read = _pnpm_importers(text, path, found, data, base)
    entries: dict[str, Any] = {}
    for block in ("packages", "snapshots"):
        _merge_entries(entries, data.get(block))
    if read.errors or not entries:
        return read
    return read._replace(links=read.links + _pnpm_via(path, entries, read.starts, base))


def _merge_entries(entries: dict[str, Any], block: object) -> None:
    """Add a ``packages`` or ``snapshots`` block's entries to ``entries`` (v9 splits one
    package's fields between the two)."""
    for key, entry in block.items() if isinstance(block, dict) else ():
        if isinstance(entry, dict):
            entries.setdefault(str(key), {}).update(entry)


def _pnpm_importers(
    text: str, path: str, importers: object, top: Mapping[str, Any], base: str
) -> LockRead:
    """Each importer's links; importer directories and ``file:`` paths are relative to the
    lockfile's directory ``base``, ``link:`` paths to the importer's."""
    if not isinstance(importers, dict):
        line = line_of_text(text, "importers:")
        return LockRead([], [ManifestError(path, line, "importers must be a mapping")])
    links: list[LockLink] = []
    starts: list[_Start] = []  # each importer's dependency on a third-party package: its version
    listed: dict[str, frozenset[str]] = {}
    recorded: dict[str, dict[str, frozenset[tuple[str, str | None]]]] = {}
    for importer, sections in importers.items():
        source = join_dir(base, normdir(str(importer)))
        source = normdir(str(importer)) if source is None else source  # outside: no component
        recorded[source] = {}
        if not isinstance(sections, dict):
            listed[source] = frozenset()  # ``packages/a:`` with nothing below: no dependency
            continue
        listed[source] = _names(sections)
        specifiers = sections.get("specifiers")
        specifiers = specifiers if isinstance(specifiers, dict) else {}
        line = line_of_text(text, f"\n  {importer}:") + 1 if importer != "." else 0
        found: dict[str, set[tuple[str, str | None]]] = {}
        for field, kind in _FIELDS:
            deps = sections.get(field)
            if not isinstance(deps, dict):
                continue
            for name, value in deps.items():
                spec = value.get("specifier") if isinstance(value, dict) else specifiers.get(name)
                found.setdefault(str(name), set()).add((field, _scalar(spec)))
                target = _pnpm_target(source, value, specifiers.get(name), base)
                if target is not False:
                    links.append(LockLink(path, line, source, target, str(name), kind))
                    continue
                version = value.get("version") if isinstance(value, dict) else value
                if isinstance(version, (str, int, float)) and not isinstance(version, bool):
                    starts.append(_Start(line, source, str(name), kind, str(version)))
        recorded[source] = {name: frozenset(pairs) for name, pairs in found.items()}
    return LockRead(links, [], listed, _pnpm_settings(top, recorded), starts=tuple(starts))


def _pnpm_settings(
    top: Mapping[str, Any], recorded: dict[str, dict[str, frozenset[tuple[str, str | None]]]]
) -> PnpmLock:
    settings = top.get("settings")
    settings = settings if isinstance(settings, dict) else {}
    peers = settings.get("autoInstallPeers")
    ignored = top.get("ignoredOptionalDependencies")
    return PnpmLock(
        recorded,
        peers if isinstance(peers, bool) else None,
        settings.get("excludeLinksFromLockfile") is True,
        tuple(str(p) for p in ignored) if isinstance(ignored, list) else (),
    )


def _scalar(value: object) -> str | None:
    """A YAML scalar as the string pnpm wrote (an unquoted ``1`` is read as a number)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _names(entry: Mapping[str, Any]) -> frozenset[str]:
    """The dependency names of a lock entry, in every field."""
    fields = (*_KIND, "dependenciesMeta")
    return frozenset(str(n) for f in fields if isinstance(entry.get(f), dict) for n in entry[f])


def _pnpm_target(
    source: str, value: object, specifier: object, base: str
) -> str | Literal[False] | None:
    """The directory a pnpm importer dependency links to (``file:`` paths are relative to the
    lockfile's directory ``base``); ``False`` for a registry package."""
    if isinstance(value, dict):
        specifier = value.get("specifier", specifier)
        value = value.get("version")
    if not isinstance(value, str):
        return False
    version = value.split("(", 1)[0]
    if version.startswith("link:"):
        return join_dir(source, version[len("link:") :])
    if version.startswith("file:"):
        return join_dir(base, version[len("file:") :])
    if isinstance(specifier, str) and specifier.startswith("workspace:"):
        return None  # a workspace specifier that pnpm did not link: lands nowhere
    return False


# A dependency of a third-party entry that is a workspace directory: linked (``link:``, with
# ``link-workspace-packages=deep``, a ``packageExtensions`` or ``.pnpmfile.cjs`` dependency on a
# workspace package) or injected (``file:``).
_PNPM_LOCAL = re.compile(r"(?m)^ {4,}\S+: ['\"]?(?:link|file):")
_ARCHIVES = (".tgz", ".tar.gz", ".tar", ".zip")


def _pnpm_via(
    path: str, entries: Mapping[str, Any], starts: tuple[_Start, ...], base: str
) -> list[LockLink]:
    """Workspace directories third-party entries of ``packages``/``snapshots`` link (their
    ``link:``/``file:`` dependencies are relative to the lockfile), reached from the
    importers' dependencies ``starts``; entries of local packages (``b@file:packages/b``) are
    the workspaces themselves, whose own edges come from their manifests and importers."""
    third_party = {key for key in entries if "@file:" not in key and "@link:" not in key}
    deps: dict[str, list[str]] = {}
    hot: dict[str, dict[str, str]] = {}
    for key in third_party:
        for field in ("dependencies", "optionalDependencies"):
            found = entries[key].get(field)
            for name, value in found.items() if isinstance(found, dict) else ():
                version = _scalar(value) or ""
                target = _pnpm_local(version, base)
                if target is not None:
                    label = f"{_pnpm_entry_name(key)}>{name}"
                    hot.setdefault(key, {}).setdefault(target, label)
                node = _pnpm_entry(third_party, str(name), version)
                if node is not None:
                    deps.setdefault(key, []).append(node)
    if not hot:
        return []
    resolved = [
        start._replace(node=node)
        for start in starts
        if (node := _pnpm_entry(third_party, start.name, start.node)) is not None
    ]
    return _via_links(path, deps, hot, resolved)


def _pnpm_local(version: str, base: str) -> str | None:
    """The directory of a ``link:``/``file:`` version (relative to the lockfile's directory
    ``base``), else None."""
    for protocol in ("link:", "file:"):
        if version.startswith(protocol) and not version.endswith(_ARCHIVES):
            return join_dir(base, version[len(protocol) :].split("(", 1)[0])
    return None


def _pnpm_entry(keys: set[str] | frozenset[str], name: str, version: str) -> str | None:
    """The ``packages``/``snapshots`` key of dependency ``name`` at ``version``, in the key
    styles of lockfile v9 (``name@1.0.0``), v6 (``/name@1.0.0``) and v5 (``/name/1.0.0``);
    an alias's version names its package (``string-width@4.2.3``)."""
    for key in (version, f"{name}@{version}", f"/{name}@{version}", f"/{name}/{version}"):
        if key in keys:
            return key
    return None


def _pnpm_entry_name(key: str) -> str:
    key = key.removeprefix("/")
    at = key.find("@", 1)
    return key[:at] if at > 0 else key.rsplit("/", 1)[0]


class PnpmExpected(NamedTuple):
    """How a fresh pnpm importer records one manifest dependency (see :func:`pnpm_expected`)."""

    field: str | None
    """The importer field that holds it; ``None`` when a fresh importer does not record it."""
    specifier: str
    absent_ok: bool = False
    """Not recording it is fresh too (a peer in a lock without ``settings``)."""
    stated: str = ""
    """What the manifest states, for the report."""


def pnpm_expected(manifest: dict[str, Any], alias: str, pnpm: PnpmLock) -> PnpmExpected | None:
    """How a fresh pnpm importer records dependency ``alias`` of ``manifest``, as ``pnpm
    install --frozen-lockfile`` checks it; ``None`` when pnpm does not compare it (a ``link:``
    specifier with ``excludeLinksFromLockfile``).

    The field is ``optionalDependencies`` if the manifest lists the name there, else
    ``dependencies``, else ``devDependencies``, else (a peer only) ``dependencies`` when the
    lock's ``autoInstallPeers`` is on; the specifier is the manifest's in that field, compared
    as text. A peer with ``autoInstallPeers`` off and an optional dependency the lock's
    ``ignoredOptionalDependencies`` names are not recorded; a peer in a lock without
    ``settings`` (v5.4, v6.0) may be either way.
    """

    def field(name: str) -> dict[str, Any]:
        value = manifest.get(name)
        return value if isinstance(value, dict) else {}

    for name in ("optionalDependencies", "dependencies", "devDependencies"):
        spec = field(name).get(alias)
        if isinstance(spec, str):
            break
    else:
        name, spec = "peerDependencies", field("peerDependencies").get(alias)
        if not isinstance(spec, str):
            return None
    stated = f"{name} {json.dumps(alias)}: {json.dumps(spec)}"
    if pnpm.exclude_links and spec.startswith("link:"):
        return None
    if name == "optionalDependencies" and _ignored(alias, pnpm.ignored_optional):
        return PnpmExpected(None, spec, stated=f"{stated} (ignoredOptionalDependencies)")
    if name != "peerDependencies":
        return PnpmExpected(name, spec, stated=stated)
    if pnpm.auto_install_peers is None:
        return PnpmExpected("dependencies", spec, True, f"{stated} (a lock without settings)")
    if pnpm.auto_install_peers:
        return PnpmExpected("dependencies", spec, stated=f"{stated} (autoInstallPeers: true)")
    return PnpmExpected(None, spec, stated=f"{stated} (autoInstallPeers: false)")


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether pnpm's ``ignoredOptionalDependencies`` patterns leave ``name`` out, as pnpm's
    matcher reads them: ``*`` matches any text, a ``!`` pattern excludes what it matches, the
    last pattern that decides wins, and patterns that are all ``!`` match everything else."""
    ignored = bool(patterns) and all(p.startswith("!") for p in patterns)
    for pattern in patterns:
        text = pattern.removeprefix("!")
        regex = ".*".join(re.escape(part) for part in text.split("*"))
        if re.fullmatch(regex, name):
            ignored = not pattern.startswith("!")
    return ignored


def pnpm_gap(
    expected: PnpmExpected | None, recorded: frozenset[tuple[str, str | None]], alias: str
) -> tuple[str, str] | None:
    """``(stated, recorded)`` for a :class:`LockGap` when ``recorded`` (the importer's
    ``(field, specifier)`` pairs for ``alias``) is not what a fresh importer holds; ``("",
    "")`` when it records nothing and should; ``None`` when it is fresh."""
    if expected is None:
        return None
    if not recorded:
        return None if expected.field is None or expected.absent_ok else ("", "")
    if expected.field is not None and recorded == {(expected.field, expected.specifier)}:
        return None
    shown = " and ".join(
        f"{field} {alias} specifier {spec if spec is not None else '(none)'}"
        for field, spec in sorted(recorded, key=lambda pair: (pair[0], pair[1] or ""))
    )
    return expected.stated, shown


# --- npm -------------------------------------------------------------------------------------


def _npm(tree: Tree, path: str) -> LockRead:
    loaded = load_json(tree, path)
    if loaded.data is None:
        return LockRead([], [loaded.error] if loaded.error else [])
    packages = loaded.data.get("packages")
    if packages is None and loaded.data.get("lockfileVersion") == 1:
        return LockRead([], [])  # v1 records no workspaces
    if not isinstance(packages, dict):
        line = line_of_text(loaded.text, '"packages"') or 1
        return LockRead([], [ManifestError(path, line, "packages must be an object")])
    links: list[LockLink] = []
    listed: dict[str, frozenset[str]] = {}
    for key, entry in packages.items():
        if not isinstance(entry, dict) or "node_modules" in key.split("/"):
            continue
        source = normdir(key)
        listed[source] = _names(entry)
        line = line_of_text(loaded.text, f'"{key}": {{') if key else 0
        for field, kind in _FIELDS:
            deps = entry.get(field)
            if not isinstance(deps, dict):
                continue
            for name in deps:
                target = _npm_resolve(packages, source, str(name))
                if target is not False:
                    links.append(LockLink(path, line, source, target, str(name), kind))
    return LockRead(links + _npm_via(path, packages, loaded.text), [], listed)


_NPM_INSTALLED = ("dependencies", "optionalDependencies", "peerDependencies")


def _npm_via(path: str, packages: Mapping[str, Any], text: str) -> list[LockLink]:
    """Workspace packages an installed third-party package resolves its own dependencies to:
    npm's lookup from ``node_modules/x`` finds ``node_modules/<name>``, which for a workspace's
    name is the link to it (a registry package requiring ``js-tokens`` gets the workspace
    ``js-tokens`` when its version satisfies the range). Nothing is resolved unless some
    third-party entry names a linked package."""
    entries = {k: e for k, e in packages.items() if isinstance(e, dict)}
    linked = {k.rpartition("node_modules/")[2] for k, e in entries.items() if _npm_link(k, e)}
    installed = {k: e for k, e in entries.items() if "node_modules/" in k and not _npm_link(k, e)}
    if not linked or not any(linked & _npm_dep_names(e) for e in installed.values()):
        return []
    deps: dict[str, list[str]] = {}
    hot: dict[str, dict[str, str]] = {}
    for key, entry in installed.items():
        for name in sorted(_npm_dep_names(entry)):
            found = npm_lookup(packages, key, name)
            if found is None:
                continue
            if found in installed:
                deps.setdefault(key, []).append(found)
                continue
            resolved = entries[found].get("resolved")
            target = join_dir("", resolved) if isinstance(resolved, str) else None
            if target is not None:
                label = f"{key.rpartition('node_modules/')[2]}>{name}"
                hot.setdefault(key, {}).setdefault(target, label)
    if not hot:
        return []
    starts: list[_Start] = []
    for key, entry in entries.items():
        if "node_modules" in key.split("/"):
            continue
        source = normdir(key)
        line = line_of_text(text, f'"{key}": {{') if key else 0
        for field, kind in _FIELDS:
            names = entry.get(field)
            for name in names if isinstance(names, dict) else ():
                found = npm_lookup(packages, source, str(name))
                if found in installed:
                    starts.append(_Start(line, source, str(name), kind, found))
    return _via_links(path, deps, hot, starts)


def _npm_link(key: str, entry: Mapping[str, Any]) -> bool:
    return "node_modules/" in key and entry.get("link") is True


def _npm_dep_names(entry: Mapping[str, Any]) -> set[str]:
    return {str(n) for f in _NPM_INSTALLED if isinstance(entry.get(f), dict) for n in entry[f]}


def _npm_resolve(
    packages: Mapping[str, Any], source: str, name: str
) -> str | Literal[False] | None:
    """Where npm's node_modules lookup from ``source`` finds ``name``: a linked directory,
    ``None`` for a link outside the repository, ``False`` for an installed package or none."""
    key = npm_lookup(packages, source, name)
    entry = packages[key] if key is not None else None
    if isinstance(entry, dict):
        resolved = entry.get("resolved")
        if entry.get("link") is True and isinstance(resolved, str):
            return join_dir("", resolved)
    return False


def npm_lookup(packages: Mapping[str, Any], source: str, name: str) -> str | None:
    """The ``packages`` key npm's node_modules lookup from directory ``source`` finds for
    ``name``: ``<source>/node_modules/<name>``, then each parent's; ``None`` when none."""
    directory = source
    while True:
        key = f"{directory}/node_modules/{name}" if directory else f"node_modules/{name}"
        if isinstance(packages.get(key), dict):
            return key
        if not directory:
            return None
        directory = posixpath.dirname(directory)


# --- yarn berry ------------------------------------------------------------------------------


class _YarnWorkspace(NamedTuple):
    line: int
    path: str | None
    entry: Mapping[str, Any]


class YarnLock(NamedTuple):
    """What ``yarn install --immutable`` compares with the manifests (it fails with YN0028,
    "the lockfile would have been modified", otherwise), for the dependencies lanes compares."""

    recorded: dict[str, dict[str, dict[str, str]]]
    """Workspace directory -> dependency name -> aspect -> recorded text: ``dependencies``
    (the range, normalised: ``npm:^1.0.0``), ``peerDependencies`` (the range as written) and
    ``optional`` (``"true"`` when ``dependenciesMeta`` marks it optional)."""

    def gap(self, directory: str, manifest: dict[str, Any], alias: str) -> tuple[str, str] | None:
        """``(stated, recorded)`` for a :class:`LockGap` when the entry of ``directory`` does
        not record dependency ``alias`` of its ``manifest`` as a fresh one does (``("", "")``
        when it records nothing), ``None`` when it is fresh."""
        expected = yarn_expected(manifest, alias)
        recorded = self.recorded.get(directory, {}).get(alias, {})
        if not recorded:
            return ("", "") if expected.aspects else None
        compared = (a for a in _YARN_ASPECTS if a not in expected.unsure)
        if all(expected.aspects.get(a) == recorded.get(a) for a in compared):
            return None
        shown = " and ".join(f"{a} {alias} {json.dumps(v)}" for a, v in sorted(recorded.items()))
        return expected.stated, shown


_YARN_ASPECTS = ("dependencies", "peerDependencies", "optional")
# A range with a protocol (``workspace:^``, ``npm:x@^1``, ``link:../x``): recorded as written.
_PROTOCOL = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_KEPT_PROTOCOLS = ("workspace:", "npm:", "link:", "portal:", "file:")


class YarnExpected(NamedTuple):
    """How a fresh yarn berry workspace entry records one manifest dependency."""

    aspects: dict[str, str]
    """Aspect (see :attr:`YarnLock.recorded`) -> the text a fresh entry records."""
    unsure: frozenset[str]
    """Aspects whose text lanes does not predict (a git or ``patch:`` range): not compared."""
    stated: str


def yarn_expected(manifest: dict[str, Any], alias: str) -> YarnExpected:
    """What a fresh workspace entry records for dependency ``alias`` of ``manifest``, as yarn
    berry merges the fields: ``dependencies``, then ``optionalDependencies`` (also marked
    ``optional``), then ``devDependencies``, the later winning, under ``dependencies``, each
    range without a protocol given yarn's default ``npm:``; ``peerDependencies`` as written."""
    aspects: dict[str, str] = {}
    unsure: set[str] = set()
    stated: list[str] = []
    for name in ("dependencies", "optionalDependencies", "devDependencies", "peerDependencies"):
        fields = manifest.get(name)
        spec = fields.get(alias) if isinstance(fields, dict) else None
        if not isinstance(spec, str):
            continue
        stated.append(f"{name} {json.dumps(alias)}: {json.dumps(spec)}")
        aspect = "peerDependencies" if name == "peerDependencies" else "dependencies"
        if name == "optionalDependencies":
            aspects["optional"] = "true"
        protocol = _PROTOCOL.match(spec)
        if protocol is None:
            aspects[aspect] = spec if aspect == "peerDependencies" else f"npm:{spec}"
        elif spec.startswith(_KEPT_PROTOCOLS if aspect == "dependencies" else ("workspace:",)):
            aspects[aspect] = spec
        else:
            unsure.add(aspect)
            aspects[aspect] = spec
    return YarnExpected(aspects, frozenset(unsure), " and ".join(stated))


def _yarn(tree: Tree, path: str) -> LockRead:
    text, error = read_text(tree, path)
    if text is None:
        return LockRead([], [error] if error else [])
    if "__metadata:" not in text:
        return LockRead([], [])  # classic yarn v1: no workspace entries
    workspaces: list[_YarnWorkspace] = []
    descriptors: dict[str, str | None] = {}
    others: list[tuple[int, str]] = []
    for line, block in _top_level_blocks(text):
        if "@workspace:" not in block.split("\n", 1)[0]:
            others.append((line, block))
            continue
        data, error = _safe_yaml(block, path, line)
        if error is not None:
            return LockRead([], [error])
        if not isinstance(data, dict) or len(data) != 1:
            continue
        ((key, entry),) = data.items()
        if not isinstance(entry, dict):
            continue
        resolution = str(entry.get("resolution", ""))
        target = _yarn_workspace_path(resolution)
        patched = _yarn_patched_workspace(resolution) if target is None else None
        for descriptor in str(key).split(","):
            descriptors[descriptor.strip()] = target if patched is None else patched
        if patched is None:
            workspaces.append(_YarnWorkspace(line, target, entry))
    listed = {w.path: _names(w.entry) for w in workspaces if w.path is not None}
    recorded = {w.path: _yarn_recorded(w.entry) for w in workspaces if w.path is not None}
    links = _yarn_links(path, workspaces, descriptors)
    via, errors = _yarn_via(path, workspaces, descriptors, others)
    if errors:
        return LockRead([], errors)
    return LockRead(links + via, [], listed, yarn=YarnLock(recorded))


def _yarn_patched_workspace(resolution: str) -> str | None:
    """The workspace a ``patch:`` resolution patches (``pb@patch:b@workspace%3Apackages/b#...``:
    a copy of ``packages/b`` with the patch applied), or None."""
    _name, found, rest = resolution.partition("@patch:")
    inner = unquote(rest.split("#", 1)[0]) if found else ""
    return _yarn_workspace_path(inner) if "@workspace:" in inner else None


def _yarn_descriptor_name(descriptor: str) -> str:
    at = descriptor.find("@", 1)
    return descriptor[:at] if at > 0 else descriptor


def _yarn_via(
    path: str,
    workspaces: list[_YarnWorkspace],
    descriptors: Mapping[str, str | None],
    others: list[tuple[int, str]],
) -> tuple[list[LockLink], list[ManifestError]]:
    """Workspaces a third-party entry resolves its dependencies to: yarn resolves a
    descriptor (``js-tokens@npm:^4``) to a workspace of that name whose version satisfies it,
    for registry packages' dependencies too, and ``packageExtensions`` can add ``workspace:``
    ones (the lock records the descriptor, not who asked for it: see ``lanes.discovery.npm``).
    The other entries are parsed only when one names a workspace's package at the indent of a
    dependency."""
    names = {_yarn_descriptor_name(d) for d, target in descriptors.items() if target is not None}
    if not names or not others:
        return [], []
    pattern = "|".join(re.escape(n) for n in sorted(names))
    named = re.compile(rf'(?m)^ {{4}}"?(?:{pattern})"?:')
    if not any(named.search(block) for _line, block in others):
        return [], []
    entries: dict[str, Mapping[str, Any]] = {}
    resolves: dict[str, str] = {}
    for line, block in others:
        data, error = _safe_yaml(block, path, line)
        if error is not None:
            return [], [error]
        for key, entry in data.items() if isinstance(data, dict) else ():
            if isinstance(entry, dict):
                entries[str(key)] = entry
                for descriptor in str(key).split(","):
                    resolves[descriptor.strip()] = str(key)
    deps: dict[str, list[str]] = {}
    hot: dict[str, dict[str, str]] = {}
    for key, entry in entries.items():
        found = entry.get("dependencies")
        for name, spec in found.items() if isinstance(found, dict) else ():
            descriptor = f"{name}@{spec}"
            target = descriptors.get(descriptor)
            if target is not None:
                label = f"{_yarn_descriptor_name(key)}>{name}"
                hot.setdefault(key, {}).setdefault(target, label)
            elif descriptor in resolves:
                deps.setdefault(key, []).append(resolves[descriptor])
    starts: list[_Start] = []
    for workspace in workspaces:
        found = workspace.entry.get("dependencies")
        for name, spec in found.items() if isinstance(found, dict) else ():
            node = resolves.get(f"{name}@{spec}")
            if workspace.path is not None and node is not None:
                starts.append(_Start(workspace.line, workspace.path, str(name), "normal", node))
    return _via_links(path, deps, hot, starts), []


def _yarn_recorded(entry: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    recorded: dict[str, dict[str, str]] = {}
    for aspect in ("dependencies", "peerDependencies"):
        deps = entry.get(aspect)
        for name, spec in deps.items() if isinstance(deps, dict) else ():
            text = _scalar(spec)
            recorded.setdefault(str(name), {})[aspect] = text if text is not None else ""
    meta = entry.get("dependenciesMeta")
    for name, flags in meta.items() if isinstance(meta, dict) else ():
        if isinstance(flags, dict) and flags.get("optional") is True:
            recorded.setdefault(str(name), {})["optional"] = "true"
    return recorded


def _yarn_workspace_path(resolution: str) -> str | None:
    _name, found, where = resolution.rpartition("@workspace:")
    return join_dir("", where) if found else None


def _yarn_links(
    path: str, workspaces: list[_YarnWorkspace], descriptors: Mapping[str, str | None]
) -> list[LockLink]:
    links: list[LockLink] = []
    for workspace in workspaces:
        if workspace.path is None:
            continue
        for field in ("dependencies", "peerDependencies"):
            deps = workspace.entry.get(field)
            if not isinstance(deps, dict):
                continue
            locator = quote(str(workspace.entry.get("resolution", "")), safe="")
            for name, spec in deps.items():
                descriptor = f"{name}@{spec}"
                if f"{descriptor}::locator={locator}" in descriptors:
                    descriptor = f"{descriptor}::locator={locator}"
                if descriptor in descriptors:
                    target = descriptors[descriptor]
                elif field == "dependencies" and str(spec).startswith("workspace:"):
                    target = None  # a workspace descriptor the lock does not resolve
                else:
                    continue  # a registry package, or a peer the parent provides
                kind = _KIND[field]
                links.append(LockLink(path, workspace.line, workspace.path, target, name, kind))
    return links
