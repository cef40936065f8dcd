"""``--format github``: ``$GITHUB_OUTPUT`` lines and the ``$GITHUB_STEP_SUMMARY``.

Every value is written with a random heredoc delimiter that does not occur in it, and output
names are restricted to ``[A-Za-z0-9_-]``, so no path or configuration value can forge another
output. Each lane's key is collision-free (:func:`output_keys`): a configuration cannot name a
lane after a reserved output or two lanes alike but for case (config errors), and without a
configuration, where component names are lanes, clashing names get a numbered key.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from lanes.engine import Selection
from lanes.outputs import json_
from lanes.outputs.keys import SAFE_NAME, output_keys
from lanes.outputs.keys import output_name as output_name  # re-exported (public API)


def entry(name: str, value: str) -> str:
    if not SAFE_NAME.match(name):
        raise ValueError(f"unsafe output name {name!r}")
    delimiter = f"LANES_EOF_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"LANES_EOF_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def outputs(selection: Selection, runs: dict[str, str | None]) -> dict[str, str]:
    compact: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": True}
    keys = output_keys(selection.lanes)
    values = {keys[lane]: "true" if on else "false" for lane, on in selection.lanes.items()}
    data = json_.as_data(selection, runs)
    values["lanes"] = json.dumps(selection.selected, **compact)
    values["flags"] = json.dumps(selection.lanes, **compact)  # fromJSON(...flags).<lane>
    values["count"] = str(len(selection.selected))
    values["matrix"] = json.dumps(data["matrix"], **compact)
    values["mode"] = selection.mode
    values["reasons"] = json.dumps(data["reasons"], default=str, **compact)
    values["diff"] = json.dumps(selection.basis, default=str, **compact)
    return values


def render(selection: Selection, runs: dict[str, str | None]) -> str:
    return "".join(entry(name, value) for name, value in outputs(selection, runs).items())
