"""The ``$GITHUB_OUTPUT`` key of each lane (``<key>=true|false``), collision-free.

GitHub compares output names case-insensitively and lanes writes some outputs itself
(:data:`lanes.config.RESERVED_OUTPUTS`), so a lane's name is not always usable as its key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lanes.config import RESERVED_OUTPUTS

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")


def output_name(lane: str) -> str:
    return lane if SAFE_NAME.match(lane) else re.sub(r"[^A-Za-z0-9_-]", "_", lane)


def output_keys(lanes: Iterable[str]) -> dict[str, str]:
    """The ``$GITHUB_OUTPUT`` key of each lane, unique case-insensitively and never a reserved
    output. A lane whose name is already a free key keeps it; every other lane (a name with
    characters outside ``[A-Za-z0-9_-]``, a reserved name, a name clashing with an earlier one)
    gets its name with those characters as ``_`` and, if that is taken, ``_2``, ``_3`` ...
    (``a.b`` next to a lane ``a_b`` becomes ``a_b_2``; a lane ``mode`` becomes ``mode_2``)."""
    names = list(lanes)
    taken = set(RESERVED_OUTPUTS)
    keys: dict[str, str] = {}
    for lane in names:
        if SAFE_NAME.match(lane) and lane.lower() not in taken:
            keys[lane] = lane
            taken.add(lane.lower())
    for lane in names:
        if lane in keys:
            continue
        base = output_name(lane)
        key, number = base, 2
        while key.lower() in taken:
            key, number = f"{base}_{number}", number + 1
        keys[lane] = key
        taken.add(key.lower())
    return {lane: keys[lane] for lane in names}


def renamed_outputs(lanes: Iterable[str]) -> list[tuple[str, str]]:
    """(lane, key) for each lane whose ``$GITHUB_OUTPUT`` key is not its name."""
    return [(lane, key) for lane, key in output_keys(lanes).items() if lane != key]
