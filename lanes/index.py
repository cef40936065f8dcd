"""The derived index: who owns a path and which lanes cover each component.

Built once from the configuration and the discovered manifests (``lanes.graph``), cached on disk
as JSON (``lanes.cache``), and queried by the pure selection engine. Nothing here imports
networkx, so a warm run stays fast.
"""

from typing import Any, NamedTuple

from lanes.globs import globlist, literal_prefix_depth

FORMAT_VERSION = 12


class Owner(NamedTuple):
    component: str
    rule: str  # "directory <dir>" or "paths <glob>"


class ExplicitOwner(NamedTuple):
    component: str
    paths: tuple[str, ...]
    exclude: tuple[str, ...]


class Step(NamedTuple):
    """One hop of a coverage chain: ``component`` reached from the previous one over ``edge``."""

    component: str
    edge: str  # "root", "normal", "build", "dev"; optional ones "normal+optional via c/feature"


class Index(NamedTuple):
    """Everything the engine needs, in plain JSON-friendly data (built by ``lanes.graph``)."""

    kinds: dict[str, str]  # component -> cargo/python/npm/explicit
    manifests: dict[str, str]  # component -> manifest path
    directories: dict[str, str]  # directory -> component
    directory_excludes: dict[str, list[str]]
    explicit: list[ExplicitOwner]
    # lane -> component -> (parent component or "", edge kind): a BFS tree rooted at the lane roots.
    coverage: dict[str, dict[str, tuple[str, str]]]
    covered_by: dict[str, list[str]]  # component -> lanes
    edges: list[tuple[str, str, str, bool]]
    problems: list[str]  # fail-safe reason codes found while building
    global_inputs: tuple[str, ...] = ()  # files every build reads (root manifests, lockfiles)
    # (source, target, kind) of each edge only a lockfile records: the lock and the manifests
    # disagree (lanes follows the edge; ``lanes check`` reports it)
    lockfile_edges: tuple[tuple[str, str, str], ...] = ()
    # (lockfile, source, target, kind, stated, recorded) of each manifest edge the lockfile does
    # not record, with target "" for a member the lockfile does not list, and stated/recorded
    # set when the lock records the edge otherwise (a pnpm specifier or field): the lock is
    # stale (``lanes check``)
    lockfile_gaps: tuple[tuple[str, str, str, str, str, str], ...] = ()
    # (component, globs) of files outside a component's directory that its build compiles
    # (``Component.reads``): they select its lanes besides their owner's
    readers: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def owner(self, path: str) -> Owner | None:
        """The deepest owner of ``path``; explicit paths win over directories at equal depth."""
        best: tuple[int, int, Owner] | None = None
        directory_owner = self._directory_owner(path)
        if directory_owner is not None:
            best = directory_owner
        for entry in self.explicit:
            candidate = _explicit_match(entry, path)
            if candidate is not None and (best is None or candidate[:2] > best[:2]):
                best = candidate
        return None if best is None else best[2]

    def readers_of(self, path: str) -> list[Owner]:
        """The components whose build compiles ``path`` from outside their own directory."""
        found = []
        for component, reads in self.readers:
            pattern = globlist(reads).matching_pattern(path)
            if pattern is not None:
                found.append(Owner(component, f"reads {pattern}"))
        return found

    def _directory_owner(self, path: str) -> tuple[int, int, Owner] | None:
        """The deepest directory component holding ``path`` (whose excludes leave it in), with
        its depth in segments: ``a/b/c.rs`` looks at ``a/b``, ``a``, then the root ``""``."""
        directory = path.rpartition("/")[0]
        depth = path.count("/")  # segments before the last (as ``path.split("/")[:-1]``)
        while True:
            component = self.directories.get(directory)
            if component is not None:
                excludes = self.directory_excludes.get(component)
                if not (excludes and globlist(tuple(excludes)).matches(path)):
                    return depth, 0, Owner(component, f"directory {directory or '.'}/")
            if not directory:
                return None
            directory = directory.rpartition("/")[0]
            depth -= 1

    def chain(self, lane: str, component: str) -> list[Step]:
        """The path of components from a root of ``lane`` down to ``component``."""
        tree = self.coverage.get(lane, {})
        steps: list[Step] = []
        current = component
        while current and current in tree and len(steps) <= len(tree):
            parent, edge = tree[current]
            steps.append(Step(current, edge))
            current = parent
        steps.reverse()
        return steps

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["explicit"] = [entry._asdict() for entry in self.explicit]
        data["format"] = FORMAT_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Index":
        if data.get("format") != FORMAT_VERSION:
            raise ValueError("index format mismatch")
        return cls(
            kinds=data["kinds"],
            manifests=data["manifests"],
            directories=data["directories"],
            directory_excludes=data["directory_excludes"],
            explicit=[
                ExplicitOwner(e["component"], tuple(e["paths"]), tuple(e["exclude"]))
                for e in data["explicit"]
            ],
            coverage={
                lane: {c: (p[0], p[1]) for c, p in tree.items()}
                for lane, tree in data["coverage"].items()
            },
            covered_by=data["covered_by"],
            edges=[(e[0], e[1], e[2], bool(e[3])) for e in data["edges"]],
            problems=data["problems"],
            global_inputs=tuple(data["global_inputs"]),
            lockfile_edges=tuple((e[0], e[1], e[2]) for e in data["lockfile_edges"]),
            lockfile_gaps=tuple(
                (g[0], g[1], g[2], g[3], g[4], g[5]) for g in data["lockfile_gaps"]
            ),
            readers=tuple((r[0], tuple(r[1])) for r in data["readers"]),
        )


def _explicit_match(entry: ExplicitOwner, path: str) -> tuple[int, int, Owner] | None:
    pattern = globlist(entry.paths).matching_pattern(path)
    if pattern is None:
        return None
    if entry.exclude and globlist(entry.exclude).matches(path):
        return None
    return literal_prefix_depth(pattern), 1, Owner(entry.component, f"paths {pattern}")
