"""Fixtures for the attestation tests: one world per algorithm pair (keys are slow to make), a memory replay cache."""

from __future__ import annotations

import pytest

from hardened.adapters.memory import MemoryReplayCache
from hardened.testing.attestation import AttestationWorld

#: The shipped in-memory replay adapter (one implementation of the ReplayCache port, not a test double).
MemoryReplay = MemoryReplayCache


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
