"""Shared test configuration: a hypothesis profile for CI and the requirement marker check."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def requirement_ids() -> set[str]:
    ids: set[str] = set()
    for path in sorted((ROOT / "specs" / "requirements").glob("*.toml")):
        with path.open("rb") as fh:
            ids.update(r["id"] for r in tomllib.load(fh).get("requirement", []))
    return ids


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A marker that names an unknown requirement fails the run at collection, not silently."""
    known = requirement_ids()
    for item in items:
        for mark in item.iter_markers("requirement"):
            for rid in mark.args:
                if rid not in known:
                    raise pytest.UsageError(f"{item.nodeid}: unknown requirement {rid!r}")

