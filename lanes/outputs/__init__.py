"""Output formats, one module each: ``text``, ``json_``, ``markdown``, ``github``."""

from __future__ import annotations

from lanes.engine import Selection


def shown_basis(selection: Selection) -> list[tuple[str, str]]:
    """The diff basis entries worth showing to a person (empty and false values left out)."""
    return [
        (str(key), str(value))
        for key, value in selection.basis.items()
        if value not in (None, "", [], 0, False)
    ]
