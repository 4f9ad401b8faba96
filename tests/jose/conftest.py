"""Fixtures of the JOSE tests: RFC test vectors (tests/fixtures/jose) and a fixed clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hardened.testing.jose import NOW

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "jose"


def load_vectors(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rfc7515() -> dict[str, Any]:
    return load_vectors("rfc7515")


@pytest.fixture(scope="session")
def rfc7638() -> dict[str, Any]:
    return load_vectors("rfc7638")


@pytest.fixture(scope="session")
def rfc8037() -> dict[str, Any]:
    return load_vectors("rfc8037")


@pytest.fixture
def now() -> float:
    return NOW
