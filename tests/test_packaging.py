"""The installed distribution exposes the three packages and their console scripts."""

from __future__ import annotations

import importlib.metadata as metadata


def test_console_scripts_point_at_package_mains() -> None:
    scripts = {
        ep.name: ep.value
        for ep in metadata.distribution("lanes-toolkit").entry_points
        if ep.group == "console_scripts"
    }
    assert scripts == {
        "lanes": "lanes.cli:main",
        "harness": "harness.cli:main",
        "session-core": "session_core.cli:main",
    }
