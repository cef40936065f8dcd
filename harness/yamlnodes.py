"""YAML nodes with line numbers: every mapping, list and scalar remembers where it was.

``load_located(text, file)`` composes with PyYAML's safe composer (anchors and aliases refused)
and returns ``Located`` values, so validation errors can name ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

MAX_BYTES = 256 * 1024


class ScenarioError(Exception):
    """A scenario file is invalid: names ``file:line`` and what was expected."""

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        super().__init__(f"{file}:{line}: {message}")


@dataclass
class Located:
    """A YAML value (``dict`` of Located, ``list`` of Located, or a scalar) with its line."""

    value: Any
    line: int
    file: str

    def fail(self, message: str) -> ScenarioError:
        return ScenarioError(self.file, self.line, message)

    @property
    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def mapping(self, what: str, allowed: frozenset[str] | None = None) -> dict[str, Located]:
        if not isinstance(self.value, dict):
            raise self.fail(f"{what}: expected a mapping, got {_kind(self.value)}")
        result: dict[str, Located] = self.value
        if allowed is not None:
            for key, item in result.items():
                if key not in allowed:
                    names = ", ".join(sorted(allowed))
                    raise item.fail(f"{what}: unknown key {key!r} (expected one of: {names})")
        return result

    def items(self, what: str) -> list[Located]:
        if not isinstance(self.value, list):
            raise self.fail(f"{what}: expected a list, got {_kind(self.value)}")
        result: list[Located] = self.value
        return result

    def text(self, what: str) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self.fail(f"{what}: expected a non-empty string, got {_kind(self.value)}")
        return self.value

    def integer(self, what: str, minimum: int = 0) -> int:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise self.fail(f"{what}: expected an integer, got {_kind(self.value)}")
        if self.value < minimum:
            raise self.fail(f"{what}: expected an integer >= {minimum}, got {self.value}")
        return self.value

    def boolean(self, what: str) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail(f"{what}: expected true or false, got {_kind(self.value)}")
        return self.value

    def choice(self, what: str, allowed: tuple[str, ...]) -> str:
        value = self.value
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(f"{what}: expected one of {', '.join(allowed)}, got {value!r}")
        return value

    def texts(self, what: str) -> list[str]:
        if isinstance(self.value, str):
            return [self.text(what)]
        return [item.text(what) for item in self.items(what)]


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                None, None, "anchors and aliases are not allowed", event.start_mark
            )
        return super().compose_node(parent, index)


def load_located(text: str, file: str) -> Located:
    if len(text.encode()) > MAX_BYTES:
        raise ScenarioError(file, 1, f"file larger than {MAX_BYTES} bytes")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(file, 1, "empty document: expected a scenario mapping")
        return _convert(node, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 1 if mark is None else mark.line + 1
        raise ScenarioError(file, line, f"invalid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(file, 1, f"invalid YAML: {exc}") from exc
    finally:
        loader.dispose()


def _convert(node: yaml.Node, loader: _Loader, file: str) -> Located:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Located] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if not isinstance(key, str):
                raise ScenarioError(file, key_node.start_mark.line + 1, "keys must be strings")
            if key in result:
                raise ScenarioError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _convert(value_node, loader, file)
        return Located(result, line, file)
    if isinstance(node, yaml.SequenceNode):
        return Located([_convert(item, loader, file) for item in node.value], line, file)
    return Located(loader.construct_object(node), line, file)


__all__ = ["Located", "ScenarioError", "load_located"]
