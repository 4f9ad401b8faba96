from __future__ import annotations

import importlib.util

import pytest

# The AS needs the DPoP component (hardened.core.dpop, hardened.web.dpop). Until it is merged into this branch the
# server tests cannot run; the requirement markers are still read statically from these files.
if importlib.util.find_spec("hardened.core.dpop") is None:  # pragma: no cover - only before the DPoP merge
    collect_ignore_glob = ["test_*.py"]
else:
    from tests.server.world import Keys, World

    @pytest.fixture(scope="session")
    def keys() -> Keys:
        return Keys()

    @pytest.fixture
    def world(keys: Keys) -> World:
        return World(keys)
