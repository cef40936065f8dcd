"""Output formats, one module each: ``text``, ``json_``, ``markdown``, ``github``."""

from __future__ import annotations

from lanes.engine import Selection


def shown_basis(selection: Selection) -> list[tuple[str, str]]:
    """The diff basis entries worth showing to a person (empty and false values left out)."""
    return [
        (str(key), _shown(value))
        for key, value in selection.basis.items()
        if value not in (None, "", [], 0, False)
    ]


def _shown(value: object) -> str:
    """Plain text, not Python reprs: a list as ``a b`` (not ``['a', 'b']``), ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(map(_shown, value))
    return str(value)


def printable(text: str) -> str:
    """``text`` for a terminal line: as is when printable, control characters and undecodable
    bytes escaped (``\\x1b``, ``\\n``), never a Python repr with quotes."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")
