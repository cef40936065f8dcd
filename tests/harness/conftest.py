"""Registers the lane markers (minimal, feature, sdk, security) for the scenario tests."""

from __future__ import annotations

import pytest

from harness.pytest_plugin import register_markers


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
