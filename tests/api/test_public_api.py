"""The public API of session_core, lanes and harness, compared with a committed snapshot.

A change to an exported name must be deliberate: after changing the API on purpose, refresh the
snapshot with ``UPDATE_API_SNAPSHOT=1 pytest tests/api`` and commit ``public_api.json``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import re
from pathlib import Path

_Feature = type(annotations)

PACKAGES = ("session_core", "lanes", "harness")
SNAPSHOT = Path(__file__).with_name("public_api.json")
ROOT = Path(__file__).resolve().parents[2]


def _exported(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return sorted(str(name) for name in declared)
    names = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or isinstance(value, _Feature):
            continue
        if getattr(value, "__module__", module_name) == module_name or not callable(value):
            names.append(name)
    return sorted(names)


def _signature(value: object) -> str:
    try:
        text = str(inspect.signature(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    text = re.sub(r" at 0x[0-9a-f]+", "", text).replace(str(ROOT), "<repository>")
    return re.sub(r"(frozen)?set\(\{([^}]*)\}\)", _sorted_set, text)


def _sorted_set(match: re.Match[str]) -> str:
    """Set reprs follow hash randomization; sort their items so the snapshot is stable."""
    items = sorted(item.strip() for item in match.group(2).split(","))
    return f"{match.group(1) or ''}set({{{', '.join(items)}}})"


def public_api() -> dict[str, dict[str, str]]:
    api: dict[str, dict[str, str]] = {}
    for package in PACKAGES:
        root = importlib.import_module(package)
        modules = [package] + [
            info.name
            for info in pkgutil.walk_packages(root.__path__, f"{package}.")
            if not any(part.startswith("_") for part in info.name.split(".")[1:])
            and info.name != "lanes.pytest_plugin"
        ]
        for module_name in sorted(modules):
            module = importlib.import_module(module_name)
            entries = {
                name: _signature(getattr(module, name)) if callable(getattr(module, name)) else ""
                for name in _exported(module_name)
            }
            if entries:
                api[module_name] = entries
    return api


def test_public_api_matches_the_snapshot() -> None:
    current = public_api()
    if os.environ.get("UPDATE_API_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(SNAPSHOT.read_text())
    added = {f"{m}.{n}" for m, names in current.items() for n in names} - {
        f"{m}.{n}" for m, names in recorded.items() for n in names
    }
    removed = {f"{m}.{n}" for m, names in recorded.items() for n in names} - {
        f"{m}.{n}" for m, names in current.items() for n in names
    }
    changed = {
        f"{m}.{n}: {recorded[m][n]} -> {sig}"
        for m, names in current.items()
        for n, sig in names.items()
        if m in recorded and n in recorded[m] and recorded[m][n] != sig
    }
    assert not (added or removed or changed), (
        "public API differs from tests/api/public_api.json "
        "(refresh with UPDATE_API_SNAPSHOT=1 pytest tests/api if intended):\n"
        + "\n".join(
            sorted(f"+ {a}" for a in added) + sorted(f"- {r}" for r in removed) + sorted(changed)
        )
    )
