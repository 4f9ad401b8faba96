"""Fixtures for the attestation tests: one world per algorithm pair (keys are slow to make), a memory replay cache."""

from __future__ import annotations

import pytest

from hardened.testing.attestation import AttestationWorld


class MemoryReplay:
    """A real in-memory single-use store with the ReplayCache shape: ``unique(key, ttl, now) -> bool``."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def unique(self, key: str, ttl: float, now: float) -> bool:
        for old in [k for k, until in self._until.items() if until <= now]:
            del self._until[old]
        if key in self._until:
            return False
        self._until[key] = now + ttl
        return True


@pytest.fixture(scope="session")
def world() -> AttestationWorld:
    return AttestationWorld.create()


@pytest.fixture(scope="session")
def world_mixed() -> AttestationWorld:
    """A PS256 attester vouching for an EdDSA instance key."""
    return AttestationWorld.create(alg="PS256", instance_alg="EdDSA")


@pytest.fixture
def replay() -> MemoryReplay:
    return MemoryReplay()
