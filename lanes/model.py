"""Plain data shared by discovery, the selection engine and the outputs.

Nothing here does I/O: discovery modules produce these records, the engine consumes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

EdgeKind = Literal["normal", "build", "dev"]
ComponentKind = Literal["cargo", "python", "npm", "explicit"]


@dataclass(frozen=True)
class Component:
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


@dataclass(frozen=True)
class Edge:
    """``source`` depends on ``target``.

    ``optional`` edges (Cargo ``optional = true``, PEP 621 optional-dependencies, npm
    ``optionalDependencies``/``peerDependencies``) count only for lanes with ``include_optional``.
    """

    source: str
    target: str
    kind: EdgeKind = "normal"
    optional: bool = False


@dataclass(frozen=True)
class ManifestError:
    """A manifest that could not be read or understood. ``line`` is 1-based, 0 when unknown."""

    path: str
    line: int
    message: str

    def code(self) -> str:
        """The reason code recorded by the fail-safe: ``manifest-error: path:line``."""
        return f"manifest-error: {self.path}:{self.line}"


@dataclass
class Discovery:
    """What one ecosystem's discovery found in a repository."""

    components: list[Component] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    errors: list[ManifestError] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)

    def extend(self, other: Discovery) -> None:
        self.components.extend(other.components)
        self.edges.extend(other.edges)
        self.errors.extend(other.errors)
        self.manifests.extend(other.manifests)


@dataclass
class ChangeSet:
    """The changed paths of one run, and how they were obtained.

    ``paths`` are repository-relative POSIX paths (decoded with ``surrogateescape`` so odd bytes
    survive), sorted and unique, with both sides of every rename or copy. ``uncertain`` holds the
    reason code when the change could not be determined (``no-base``, ``base-not-found``,
    ``not-ancestor``, ``git-error`` ...): the engine then selects every lane. ``basis`` records
    which diff was used (base, merge base, head, depth fetched, fallback, method) for every output.
    """

    paths: list[str] = field(default_factory=list)
    basis: dict[str, object] = field(default_factory=dict)
    uncertain: str | None = None
    detail: str = ""
