"""Repository-derived text made safe for human output (terminals, logs, Markdown, graphs).

File names, directory names, package names, configuration keys and values are chosen by
whoever writes to the repository. Printed raw, a newline followed by ``::error ...`` is a
workflow command to a GitHub runner, and an ESC sequence drives the reader's terminal.
:func:`shown` is the one function every human-readable output passes such text through.
Machine formats (JSON with ``ensure_ascii``, ``$GITHUB_OUTPUT`` heredocs) escape on their own.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_COMMAND = "::"
"""A line starting with this (after blanks) is a workflow command to a GitHub runner."""


def _escaped(char: str) -> str:
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by ``surrogateescape``
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shown(text: str) -> str:
    """``text`` on one line with every non-printable character visibly escaped (newline, CR,
    tab, ESC, NUL, the other C0 and C1 controls, DEL, bidirectional overrides, line separators,
    undecodable bytes), and a leading ``::`` broken as ``\\x3a:`` so that the text can never
    start a workflow command, wherever it lands in a line."""
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escaped(char) for char in text)
    stripped = text.lstrip()
    if stripped.startswith(_COMMAND):
        start = len(text) - len(stripped)
        text = f"{text[:start]}\\x3a{text[start + 1 :]}"
    return text


def shown_all(items: list[str] | tuple[str, ...], separator: str = ", ") -> str:
    """:func:`shown` of each item, joined."""
    return separator.join(shown(item) for item in items)
