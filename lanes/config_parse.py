"""Parsing and validating ``lanes.yml`` text (PyYAML's safe composer).

Validation walks the node tree so every error names ``file:line:column``, the key and what was
expected. Unknown keys are errors. Anchors and aliases are refused and the size is bounded, so
no document can expand without limit. Imported only when a configuration is not in the cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from lanes.config import (
    DISCOVER_KINDS,
    MAX_CONFIG_BYTES,
    RESERVED_OUTPUTS,
    ComponentSpec,
    Config,
    ConfigError,
    Contract,
    IncludeDev,
    LaneSpec,
    Selector,
    Unmatched,
)
from lanes.digest import sha256
from lanes.globs import GlobError, compile_glob

# An optional ecosystem qualifier names one of two components of the same name (``cargo:x``);
# a PEP 723 script is named by its path (``scripts/release.py``).
NAME_RE = re.compile(
    r"(?:(?:cargo|python|npm):)?"
    r"(?:(@[A-Za-z0-9_.-]+/)?[A-Za-z0-9_][A-Za-z0-9_.-]*|(?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]+\.py)\Z"
)
LANE_NAME_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
FEATURE_RE = re.compile(r"(?:(?:@[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.+-]+\Z")


MAX_DEPTH = 32
"""How deeply collections may nest (the schema needs 4); the composer recurses per level."""
DECIMAL_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]{0,8})\Z")


class _NoAliasLoader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, "anchors and aliases are not allowed in lanes.yml", event.start_mark
            )
        if self.depth >= MAX_DEPTH:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Reader:
    """Validating accessors over YAML nodes that remember where each key was."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[str, tuple[int, int]] = {}

    def fail(self, node: yaml.Node | None, key: str, expected: str) -> ConfigError:
        if node is None:
            return ConfigError(self.file, 0, 0, key, expected)
        mark = node.start_mark
        return ConfigError(self.file, mark.line + 1, mark.column + 1, key, expected)

    def remember(self, key: str, node: yaml.Node) -> None:
        self.marks[key] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def mapping(
        self, node: yaml.Node, key: str, allowed: tuple[str, ...] | None
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, f"expected a mapping, got {_describe(node)}")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            name = self.scalar_str(key_node, key or "<top level>")
            child = f"{key}.{name}" if key else name
            if allowed is not None and name not in allowed:
                raise self.fail(
                    key_node, child, f"unknown key; expected one of {', '.join(allowed)}"
                )
            if name in result:
                raise self.fail(key_node, child, "duplicate key")
            self.remember(child, key_node)
            result[name] = value_node
        return result

    def scalar_str(self, node: yaml.Node, key: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            raise self.fail(node, key, f"expected a string, got {_describe(node)}")
        return str(node.value)

    def boolean(self, node: yaml.Node, key: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            raise self.fail(node, key, f"expected true or false, got {_describe(node)}")
        return bool(yaml.safe_load(node.value))

    def integer(self, node: yaml.Node, key: str) -> int:
        """A plain decimal integer: YAML 1.1's other forms (``0x1``, ``0b1``, octal ``01``,
        ``1_000``, sexagesimal ``1:00``) and very long numbers are refused, not converted."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            raise self.fail(node, key, f"expected an integer, got {_describe(node)}")
        if not DECIMAL_RE.match(node.value):
            shown = node.value if len(node.value) <= 20 else f"{node.value[:20]}..."
            raise self.fail(node, key, f"expected a plain decimal integer, got {shown!r}")
        return int(node.value)

    def str_list(
        self, node: yaml.Node, key: str, check: Callable[[yaml.Node, str, str], None] | None = None
    ) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, f"expected a list of strings, got {_describe(node)}")
        items: list[str] = []
        for index, item in enumerate(node.value):
            value = self.scalar_str(item, f"{key}[{index}]")
            if check is not None:
                check(item, f"{key}[{index}]", value)
            items.append(value)
        return tuple(items)

    def glob(self, node: yaml.Node, key: str, value: str) -> None:
        try:
            compile_glob(value.removeprefix("!"))
        except GlobError as error:
            raise self.fail(node, key, f"expected a glob: {error}") from None
        if value.startswith("/") or value.startswith("./"):
            raise self.fail(node, key, "expected a repository-relative glob (no leading / or ./)")

    def name(self, node: yaml.Node, key: str, value: str) -> None:
        if not NAME_RE.match(value):
            raise self.fail(
                node,
                key,
                "expected a component name (letters, digits, _ - . and an optional @scope/,"
                " qualified as cargo:name, python:name or npm:name where two ecosystems use it;"
                " a PEP 723 script by its path, dir/name.py)",
            )

    def feature_name(self, node: yaml.Node, key: str, value: str) -> None:
        if not FEATURE_RE.match(value):
            raise self.fail(
                node, key, "expected a feature, extra or group name, optionally as component/name"
            )

    def lane_name(self, node: yaml.Node, key: str, value: str) -> None:
        if not LANE_NAME_RE.match(value):
            raise self.fail(node, key, "expected a lane name matching [A-Za-z0-9_-]+")


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = node.tag.rsplit(":", 1)[-1]
    return {"str": "a string", "int": "an integer", "bool": "a boolean", "null": "nothing"}.get(
        kind, f"a {kind}"
    )


TOP_KEYS = (
    "version",
    "discover",
    "components",
    "global",
    "ignore",
    "lanes",
    "unmatched",
    "contracts",
    "third_party_never_requires_local",
)
COMPONENT_KEYS = ("paths", "depends_on", "dev_depends_on", "exclude")
LANE_KEYS = (
    "description",
    "roots",
    "include_dev",
    "include_optional",
    "features",
    "extras",
    "groups",
    "paths",
    "run",
)
CONTRACT_KEYS = ("path", "selects", "not", "exists")


def _component(reader: _Reader, name: str, node: yaml.Node) -> ComponentSpec:
    key = f"components.{name}"
    fields = reader.mapping(node, key, COMPONENT_KEYS)
    get = fields.get
    return ComponentSpec(
        name=name,
        paths=reader.str_list(fields["paths"], f"{key}.paths", reader.glob) if get("paths") else (),
        depends_on=_names(reader, get("depends_on"), f"{key}.depends_on"),
        dev_depends_on=_names(reader, get("dev_depends_on"), f"{key}.dev_depends_on"),
        exclude=_globs(reader, get("exclude"), f"{key}.exclude"),
    )


def _names(reader: _Reader, node: yaml.Node | None, key: str) -> tuple[str, ...]:
    return () if node is None else reader.str_list(node, key, reader.name)


def _globs(reader: _Reader, node: yaml.Node | None, key: str) -> tuple[str, ...]:
    return () if node is None else reader.str_list(node, key, reader.glob)


def _lane(reader: _Reader, name: str, node: yaml.Node) -> LaneSpec:
    key = f"lanes.{name}"
    fields = reader.mapping(node, key, LANE_KEYS)
    if "roots" not in fields and "paths" not in fields:
        raise reader.fail(node, key, "expected at least one of 'roots' or 'paths'")
    run = fields.get("run")
    description = fields.get("description")
    return LaneSpec(
        name=name,
        roots=_names(reader, fields.get("roots"), f"{key}.roots"),
        description=""
        if description is None
        else reader.scalar_str(description, f"{key}.description"),
        include_dev=_include_dev(reader, fields.get("include_dev"), f"{key}.include_dev"),
        features=_features(reader, fields, key),
        paths=_globs(reader, fields.get("paths"), f"{key}.paths"),
        run=None if run is None else reader.scalar_str(run, f"{key}.run"),
        extras=_selector(reader, fields.get("extras"), f"{key}.extras", "all", ("all", "none")),
        groups=_selector(reader, fields.get("groups"), f"{key}.groups", "all", ("all", "none")),
    )


def _include_dev(reader: _Reader, node: yaml.Node | None, key: str) -> IncludeDev:
    if node is None:
        return True
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        if node.value == "roots":
            return "roots"
        raise reader.fail(node, key, "expected true, false or roots")
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise reader.fail(node, key, f"expected true, false or roots, got {_describe(node)}")
    return reader.boolean(node, key)


def _features(reader: _Reader, fields: dict[str, yaml.Node], key: str) -> Selector:
    """``features``, or its older spelling ``include_optional`` (true: all, false: none)."""
    legacy = fields.get("include_optional")
    if legacy is not None:
        if "features" in fields:
            raise reader.fail(
                legacy, f"{key}.include_optional", "expected either 'features' or this, not both"
            )
        return "all" if reader.boolean(legacy, f"{key}.include_optional") else "none"
    words = ("default", "all", "none")
    return _selector(reader, fields.get("features"), f"{key}.features", "default", words)


def _selector(
    reader: _Reader,
    node: yaml.Node | None,
    key: str,
    default: Selector,
    words: tuple[str, ...],
) -> Selector:
    """One of ``words`` or a list of names (features, extras, groups)."""
    if node is None:
        return default
    if isinstance(node, yaml.SequenceNode):
        return reader.str_list(node, key, reader.feature_name)
    expected = f"expected one of {', '.join(words)} or a list of names"
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
        raise reader.fail(node, key, f"{expected}, got {_describe(node)}")
    for word in ("default", "all", "none"):
        if node.value == word and word in words:
            return word
    raise reader.fail(node, key, expected)


def _contract(reader: _Reader, index: int, node: yaml.Node) -> Contract:
    key = f"contracts[{index}]"
    fields = reader.mapping(node, key, CONTRACT_KEYS)
    if "path" not in fields:
        raise reader.fail(node, key, "expected a 'path' key")
    if "selects" not in fields and "not" not in fields:
        raise reader.fail(node, key, "expected 'selects' and/or 'not'")
    selects, not_selects = fields.get("selects"), fields.get("not")
    exists = fields.get("exists")
    return Contract(
        path=reader.scalar_str(fields["path"], f"{key}.path"),
        selects=()
        if selects is None
        else reader.str_list(selects, f"{key}.selects", reader.lane_name),
        not_selects=()
        if not_selects is None
        else reader.str_list(not_selects, f"{key}.not", reader.lane_name),
        line=node.start_mark.line + 1,
        exists=exists is None or reader.boolean(exists, f"{key}.exists"),
    )


def _discover(reader: _Reader, node: yaml.Node) -> tuple[str, ...]:
    def kind(item: yaml.Node, key: str, value: str) -> None:
        if value not in DISCOVER_KINDS:
            raise reader.fail(item, key, f"expected one of {', '.join(DISCOVER_KINDS)}")

    return reader.str_list(node, "discover", kind)


def _unmatched(reader: _Reader, node: yaml.Node) -> Unmatched:
    value = reader.scalar_str(node, "unmatched")
    if value == "all":
        return "all"
    if value == "none":
        return "none"
    if value == "error":
        return "error"
    raise reader.fail(node, "unmatched", "expected one of all, none, error")


def _directories(reader: _Reader, node: yaml.Node | None, key: str) -> tuple[str, ...]:
    """Repository-relative directories (``.`` the top), normalized: ``./a/`` is ``a``."""
    if node is None:
        return ()

    def directory(item: yaml.Node, item_key: str, value: str) -> None:
        expected = "expected a repository-relative directory ('.' for the top)"
        if not value or value.startswith("/") or "\\" in value or value[1:2] == ":":
            raise reader.fail(item, item_key, expected)
        if ".." in value.split("/"):
            raise reader.fail(item, item_key, f"{expected}, without '..'")
        if any(c in value for c in "*?[]!"):
            raise reader.fail(item, item_key, f"{expected}, not a glob")

    return tuple(_normdir(value) for value in reader.str_list(node, key, directory))


def _normdir(value: str) -> str:
    parts = [part for part in value.split("/") if part not in ("", ".")]
    return "/".join(parts)


def _check_output_names(reader: _Reader, config: Config) -> None:
    """Each lane writes ``<lane>=true|false`` to ``$GITHUB_OUTPUT``, whose names GitHub compares
    case-insensitively: a reserved name or two names equal but for case would overwrite."""
    seen: dict[str, str] = {}
    for name in config.lanes:
        key = f"lanes.{name}"
        line, column = config.mark(key)
        folded = name.lower()
        if folded in RESERVED_OUTPUTS:
            expected = (
                f"reserved: lanes writes the output {folded!r} itself; expected a lane name "
                f"other than {', '.join(RESERVED_OUTPUTS)} (in any case)"
            )
            raise ConfigError(reader.file, line, column, key, expected)
        if folded in seen:
            expected = (
                f"same GitHub output name as lane {seen[folded]!r} (output names are "
                "case-insensitive); expected names that differ by more than case"
            )
            raise ConfigError(reader.file, line, column, key, expected)
        seen[folded] = name


def _check_references(reader: _Reader, config: Config) -> None:
    known = ", ".join(config.lanes) or "(no lanes defined)"
    for index, contract in enumerate(config.contracts):
        key = f"contracts[{index}]"
        for lane in (*contract.selects, *contract.not_selects):
            if lane not in config.lanes:
                line, column = (
                    config.mark(f"{key}.selects")
                    if lane in contract.selects
                    else config.mark(f"{key}.not")
                )
                from lanes.suggest import did_you_mean  # an error path: difflib only here

                raise ConfigError(
                    reader.file,
                    line,
                    column,
                    key,
                    f"unknown lane {lane!r}{did_you_mean(lane, config.lanes)}; "
                    f"expected one of {known}",
                )


def _compose(text: str, file: str) -> yaml.Node | None:
    """The YAML node tree, every YAML failure a located :class:`ConfigError`."""
    try:
        loader = _NoAliasLoader(text)  # the reader checks every character here
    except yaml.reader.ReaderError as error:
        raise _reader_error(text, file, error) from None
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise ConfigError(file, line, column, "", f"invalid YAML: {error.problem}") from None
    except yaml.reader.ReaderError as error:
        raise _reader_error(text, file, error) from None
    except yaml.YAMLError as error:
        raise ConfigError(file, 0, 0, "", f"invalid YAML: {error}") from None
    except (ValueError, OverflowError) as error:  # PyYAML: chr() of an escape like "\\U99999999"
        mark = loader.get_mark()
        problem = f"invalid YAML: a value or escape it cannot represent ({error})"
        raise ConfigError(file, mark.line + 1, mark.column + 1, "", problem) from None
    finally:
        loader.dispose()


def _reader_error(text: str, file: str, error: yaml.reader.ReaderError) -> ConfigError:
    line, column = _text_position(text, error.position)
    problem = f"invalid YAML: character #x{error.character:04x}: {error.reason}"
    return ConfigError(file, line, column, "", problem)


def parse_text(text: str, file: str = "lanes.yml") -> Config:
    """Validate the text of a ``lanes.yml``; raise :class:`ConfigError` on the first problem."""
    reader = _Reader(file)
    if len(text.encode("utf-8", "surrogateescape")) > MAX_CONFIG_BYTES:
        raise ConfigError(file, 0, 0, "", f"file larger than {MAX_CONFIG_BYTES} bytes")
    root = _compose(text, file)
    if root is None:
        raise ConfigError(file, 1, 1, "", "empty file; expected a mapping with 'version: 1'")
    top = reader.mapping(root, "", TOP_KEYS)
    if "version" not in top:
        raise reader.fail(root, "version", "missing; expected 'version: 1'")
    if reader.integer(top["version"], "version") != 1:
        raise reader.fail(top["version"], "version", "expected 1 (the only supported version)")
    config = _build(reader, top, file, text)
    _check_output_names(reader, config)
    _check_references(reader, config)
    return config


def _text_position(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def _keyed(
    reader: _Reader, node: yaml.Node | None, key: str, check: Callable[[yaml.Node, str, str], None]
) -> dict[str, yaml.Node]:
    if node is None:
        return {}
    entries = reader.mapping(node, key, None)
    for key_node, _ in node.value:
        check(key_node, f"{key}.{key_node.value}", str(key_node.value))
    return entries


def _build(reader: _Reader, top: dict[str, yaml.Node], file: str, text: str) -> Config:
    lanes = _keyed(reader, top.get("lanes"), "lanes", reader.lane_name)
    components = _keyed(reader, top.get("components"), "components", reader.name)
    contracts_node = top.get("contracts")
    if contracts_node is not None and not isinstance(contracts_node, yaml.SequenceNode):
        raise reader.fail(contracts_node, "contracts", "expected a list of contracts")
    contracts = contracts_node.value if contracts_node is not None else []
    return Config(
        file=file,
        discover=None if top.get("discover") is None else _discover(reader, top["discover"]),
        components={name: _component(reader, name, node) for name, node in components.items()},
        global_paths=_globs(reader, top.get("global"), "global"),
        ignore=_globs(reader, top.get("ignore"), "ignore"),
        lanes={name: _lane(reader, name, node) for name, node in lanes.items()},
        unmatched="all" if top.get("unmatched") is None else _unmatched(reader, top["unmatched"]),
        contracts=tuple(_contract(reader, i, node) for i, node in enumerate(contracts)),
        third_party_never_requires_local=_directories(
            reader, top.get("third_party_never_requires_local"), "third_party_never_requires_local"
        ),
        digest=sha256(text.encode("utf-8", "surrogateescape")).hexdigest(),
        marks=reader.marks,
    )
