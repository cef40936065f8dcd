"""PEP 508 requirement strings, parsed by hand (no ``packaging`` at run time)."""

from __future__ import annotations

import re
from typing import NamedTuple

_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EXTRA = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_CLAUSE = r"\s*(?:===|~=|==|!=|<=|>=|<|>)\s*[A-Za-z0-9_.*+!-]+\s*"
_SPECIFIER = re.compile(rf"(?:{_CLAUSE}(?:,{_CLAUSE})*)?")
_URL_END = re.compile(r"\s+;")
_SIMPLE = re.compile(
    r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
    rf"({_CLAUSE}(?:,{_CLAUSE})*)?"
    r"(?:;\s*(\S.*?))?\s*"
)
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """The PEP 503 normalized form of a distribution name."""
    return _SEPARATORS.sub("-", name).lower()


class Requirement(NamedTuple):
    name: str
    extras: tuple[str, ...] = ()
    specifier: str = ""
    url: str | None = None
    marker: str = ""

    @property
    def key(self) -> str:
        return normalize(self.name)


class InvalidRequirement(ValueError):
    pass


def parse_requirement(text: str) -> Requirement:
    """Split ``name[extras] (specifier | @ url) ; marker``; raise :class:`InvalidRequirement`."""
    simple = _SIMPLE.fullmatch(text)
    if simple is not None:
        name, specifier, marker = simple.groups()
        return Requirement(name, (), (specifier or "").strip(), None, marker or "")
    match = _NAME.match(text)
    if match is None:
        raise InvalidRequirement("expected a distribution name")
    name = match.group(1)
    rest = text[match.end() :].lstrip()
    extras, rest = _extras(rest)
    if rest.startswith("@"):
        url, marker = _url(rest[1:])
        return Requirement(name, extras, "", url, marker)
    specifier, _, marker = rest.partition(";")
    return Requirement(name, extras, _specifier(specifier), None, _marker(marker, ";" in rest))


def _extras(rest: str) -> tuple[tuple[str, ...], str]:
    if not rest.startswith("["):
        return (), rest
    close = rest.find("]")
    if close < 0:
        raise InvalidRequirement("unclosed extras bracket")
    items = [item.strip() for item in rest[1:close].split(",") if item.strip()]
    for item in items:
        if not _EXTRA.fullmatch(item):
            raise InvalidRequirement(f"invalid extra {item!r}")
    return tuple(items), rest[close + 1 :].lstrip()


def _url(rest: str) -> tuple[str, str]:
    rest = rest.strip()
    parts = _URL_END.split(rest, maxsplit=1)
    url = parts[0].strip()
    if not url or " " in url:
        raise InvalidRequirement("expected a URL after '@'")
    return url, _marker(parts[1] if len(parts) > 1 else "", len(parts) > 1)


def _specifier(text: str) -> str:
    spec = text.strip()
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1].strip()
    if not _SPECIFIER.fullmatch(spec):
        raise InvalidRequirement(f"invalid version specifier {spec!r}")
    return spec


def _marker(text: str, present: bool) -> str:
    marker = text.strip()
    if present and not marker:
        raise InvalidRequirement("empty environment marker after ';'")
    return marker
