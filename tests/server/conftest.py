from __future__ import annotations

import pytest

from tests.server.world import Keys, World


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def world(keys: Keys) -> World:
    return World(keys)
