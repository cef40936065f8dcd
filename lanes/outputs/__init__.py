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
