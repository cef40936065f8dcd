"""Plain data shared by discovery, the selection engine and the outputs.

Nothing here does I/O: discovery modules produce these records, the engine consumes them.
Records are named tuples rather than dataclasses: this module is on the start-up path of
every ``lanes`` run, and a dataclass costs about 0.4 ms to create (plus 7 ms to import
``dataclasses``) against 0.06 ms for a named tuple (see docs/benchmarks.md).

The modules defining such records (this one, config, index, engine, discovery._common and
discovery.cargo) do not use ``from __future__ import annotations``: ``typing.NamedTuple`` turns
string annotations into ``ForwardRef`` objects, and the first of those costs about 1 ms.
"""

import os
from typing import Literal, NamedTuple

StrPath = str | os.PathLike[str]
"""A file-system path. The start-up path works on strings with ``os.path``: importing
``pathlib`` costs about 3 ms (it pulls in ``urllib.parse`` and ``ipaddress``)."""

EdgeKind = Literal["normal", "build", "dev"]
ComponentKind = Literal["cargo", "python", "npm", "explicit"]


class Component(NamedTuple):
    """A unit of the dependency graph.

    Discovered components own the directory of their manifest (``directory``, repository-relative,
    ``""`` for the root, POSIX separators). Explicit components (from ``lanes.yml``) own the files
    their ``paths`` globs match, minus ``exclude``.
    """

    name: str
    kind: ComponentKind
    directory: str | None = None
    manifest: str | None = None
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    features: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Named features and what each enables, in Cargo's syntax: ``"f"`` (another feature of this
    component, or the implicit feature of an optional dependency named ``f``), ``"dep:d"`` (the
    optional dependency whose ``Edge.dep`` is ``d``), ``"d/f"`` (dependency ``d``, enabling it
    if optional, with its feature ``f``) and ``"d?/f"`` (feature ``f`` of ``d`` only if ``d`` is
    enabled anyway). Cargo features map as written; Python extras are features whose values are
    ``dep:`` entries, and dependency groups are features named ``group:<name>``."""
    reads: tuple[str, ...] = ()
    """Globs of files outside the component's own directory that its build compiles or reads (a
    Cargo member's ``[lib]``/``[[bin]]``... ``path`` or ``build`` script placed elsewhere, with
    the directory holding it; the manifest, lock and toolchain files of a nested Cargo
    workspace's root): a change there selects the component's lanes besides its owner's."""


LOCKFILE_EDGE = "lockfile-edge:"
"""``Edge.dep`` prefix of an edge only a lockfile records (``lockfile-edge:<name>``): the lock and
the manifests disagree; lanes follows the edge, and ``lanes check`` reports it."""


class Edge(NamedTuple):
    """``source`` depends on ``target``.

    An ``optional`` edge is built only when a feature of ``source`` enables ``dep:<dep>`` (Cargo
    optional dependencies, Python extras and dependency groups); which features a lane enables is
    resolved by ``lanes.features``. ``dep`` is the dependency's key in the source manifest (the
    table key of a renamed Cargo dependency; ``""`` means ``target``). ``features`` are requested
    on the target whenever the edge is built (Cargo ``features = [...]``, Python ``pkg[extra]``),
    and so is the target's ``default`` feature unless ``default_features`` is false.
    """

    source: str
    target: str
    kind: EdgeKind = "normal"
    optional: bool = False
    dep: str = ""
    features: tuple[str, ...] = ()
    default_features: bool = True

    @property
    def lockfile_only(self) -> bool:
        """Only a lockfile records this edge (no manifest states it)."""
        return self.dep.startswith(LOCKFILE_EDGE)

    @property
    def key(self) -> str:
        """The name features use for this dependency (``dep:<key>``, ``<key>/feature``)."""
        return self.dep or self.target


class LockGap(NamedTuple):
    """What a manifest states and the committed lockfile ``lockfile`` does not record: the edge
    ``source -> target`` (``kind``), or with ``target == ""`` the member ``source`` itself. With
    ``stated`` set, the lock records the edge but not as the manifest states it (a pnpm
    importer's field or specifier): ``stated`` is the manifest's side, ``recorded`` the lock's.
    The lock is stale; lanes follows the manifests, and ``lanes check`` reports it."""

    lockfile: str
    source: str
    target: str = ""
    kind: str = "normal"
    stated: str = ""
    recorded: str = ""


UNLOCKED_DEPENDENCIES = "unlocked-dependencies"
"""The reason of a uv workspace (or uv project) that has no ``uv.lock`` while its projects require
third-party packages, whose own requirements (possibly on its projects) only a lock records."""


STALE_LOCKFILE = "stale-lockfile"
"""The reason of a uv workspace (or uv project) whose ``uv.lock`` predates what its projects state
(a project it does not list, a third-party requirement it does not record): what that package
requires is as unknown as without a lock. ``third_party_never_requires_local`` applies to it."""


class ManifestError(NamedTuple):
    """A manifest that could not be read or understood, or an edge it states that lands nowhere
    (``reason`` ``unresolved-dependency``). ``line`` is 1-based, 0 when unknown. ``root`` is
    the directory of the uv workspace (or standalone project) an ``unlocked-dependencies`` (or
    ``stale-lockfile``) reason is about (``""``: the repository's top), which the
    configuration's ``third_party_never_requires_local`` may name; None for every other
    reason."""

    path: str
    line: int
    message: str
    reason: str = "manifest-error"
    root: str | None = None

    def code(self) -> str:
        """The reason code recorded by the fail-safe: ``manifest-error: path:line``."""
        return f"{self.reason}: {self.path}:{self.line}"


class Discovery:
    """What one ecosystem's discovery found in a repository (filled in as manifests are read)."""

    def __init__(
        self,
        components: list[Component] | None = None,
        edges: list[Edge] | None = None,
        errors: list[ManifestError] | None = None,
        manifests: list[str] | None = None,
        global_inputs: list[str] | None = None,
        lock_gaps: list[LockGap] | None = None,
    ) -> None:
        self.components: list[Component] = components if components is not None else []
        self.edges: list[Edge] = edges if edges is not None else []
        self.errors: list[ManifestError] = errors if errors is not None else []
        self.manifests: list[str] = manifests if manifests is not None else []
        # Files every component's build reads (workspace root manifests, lockfiles): a change to
        # one selects every lane, as a ``global`` rule would (reason ``global``, rule
        # ``workspace input``).
        self.global_inputs: list[str] = global_inputs if global_inputs is not None else []
        self.lock_gaps: list[LockGap] = lock_gaps if lock_gaps is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Discovery) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Discovery({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"

    def extend(self, other: "Discovery") -> None:
        self.components.extend(other.components)
        self.edges.extend(other.edges)
        self.errors.extend(other.errors)
        self.manifests.extend(other.manifests)
        self.global_inputs.extend(other.global_inputs)
        self.lock_gaps.extend(other.lock_gaps)


class ChangeSet(NamedTuple):
    """The changed paths of one run, and how they were obtained.

    ``paths`` are repository-relative POSIX paths (decoded with ``surrogateescape`` so odd bytes
    survive), sorted and unique, with both sides of every rename or copy. ``uncertain`` holds the
    reason code when the change could not be determined (``no-base``, ``base-not-found``,
    ``not-ancestor``, ``git-error`` ...): the engine then selects every lane. ``basis`` records
    which diff was used (base, merge base, head, depth fetched, fallback, method) for every output.
    """

    paths: list[str]
    basis: dict[str, object]
    uncertain: str | None = None
    detail: str = ""
