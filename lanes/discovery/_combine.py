"""One graph from several ecosystems' discoveries, without losing precision to a name clash.

* One directory, two manifests (a maturin or PyO3 ``pyproject.toml``, a wasm-pack or napi-rs
  ``package.json`` beside the ``Cargo.toml`` it builds): one component, named and typed after the
  Cargo crate (else the Python project), owning what either owned, with the edges of both. The
  other manifest's extras and groups are switched on by the crate's ``default`` feature, so a lane
  building the crate with its default features installs them, as ``maturin develop`` with
  ``uv sync --all-extras`` would.
* The same name in two ecosystems in different directories: both get qualified names
  (``cargo:core``, ``npm:core``); edges keep pointing within their own ecosystem.
"""

from collections.abc import Iterable

from lanes.model import Component, Discovery

ORDER = ("cargo", "python", "npm")  # who names a shared directory's component


Key = tuple[str, str]  # (ecosystem, name as discovered)


def qualified(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def combine(found: Iterable[tuple[str, Discovery]]) -> Discovery:
    """The union of each ecosystem's discovery (``(kind, discovery)`` pairs)."""
    found = sorted(found, key=lambda pair: ORDER.index(pair[0]) if pair[0] in ORDER else len(ORDER))
    owner: dict[Key, Key] = {}  # every component -> the one it is merged into (maybe itself)
    merged: dict[Key, Component] = {}
    by_directory: dict[str, Key] = {}
    for kind, discovery in found:
        for component in discovery.components:
            key = (kind, component.name)
            directory = component.directory
            shared = by_directory.get(directory) if directory is not None else None
            if shared is not None and shared[0] != kind:
                owner[key] = shared
                merged[shared] = _merge(merged[shared], component)
                continue
            owner[key] = key
            merged[key] = component
            if directory is not None:
                by_directory.setdefault(directory, key)
    kinds_of: dict[str, set[str]] = {}
    for kind, name in merged:
        kinds_of.setdefault(name, set()).add(kind)

    def final(key: Key) -> str:
        kind, name = owner[key]
        return qualified(kind, name) if len(kinds_of[name]) > 1 else name

    result = Discovery()
    result.components = [c._replace(name=final(key)) for key, c in merged.items()]
    for kind, discovery in found:
        names = {name: final((k, name)) for k, name in owner if k == kind}
        for edge in discovery.edges:
            source = names.get(edge.source, edge.source)
            target = names.get(edge.target, edge.target)
            # Renaming keeps a Cargo self dev-dependency (tests with features) and makes no
            # new self-edge: an ecosystem has one component per directory, edges stay within it.
            result.edges.append(edge._replace(source=source, target=target))
        result.errors.extend(discovery.errors)
        result.manifests.extend(discovery.manifests)
        result.global_inputs.extend(discovery.global_inputs)
        result.lock_gaps += [
            gap._replace(
                source=names.get(gap.source, gap.source),
                target=names.get(gap.target, gap.target) if gap.target else "",
            )
            for gap in discovery.lock_gaps
        ]
    return result


def _merge(owner: Component, other: Component) -> Component:
    """``owner`` with ``other``'s ownership and features added (same directory)."""
    # Unless both own only some paths, one of them owns the whole directory.
    both = owner.paths and other.paths
    paths = tuple(sorted({*owner.paths, *other.paths})) if both else ()
    features = dict(owner.features)
    extra = [name for name, _ in other.features]
    for name, values in other.features:
        features[name] = tuple(dict.fromkeys((*features.get(name, ()), *values)))
    if owner.kind == "cargo" and extra:
        features["default"] = tuple(dict.fromkeys((*features.get("default", ()), *extra)))
    exclude = tuple(e for e in owner.exclude if e in other.exclude)
    reads = tuple(dict.fromkeys((*owner.reads, *other.reads)))
    return owner._replace(
        paths=paths, exclude=exclude, features=tuple(sorted(features.items())), reads=reads
    )
