"""The attester's builder (hardened.core.attester) produces what the verifier accepts, and nothing unsafe."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.attestation import verify_client_attestation
from hardened.core.attester import build_client_attestation
from hardened.errors import ConfigurationError
from hardened.testing.attestation import AttestationWorld


@pytest.mark.requirement("HP-ATT-02", "HP-ATT-03", "HP-ATT-04")
@given(lifetime=st.integers(1, 24 * 3600), age=st.integers(0, 3600),
       extra=st.dictionaries(st.sampled_from(["software_id", "aal"]), st.text(max_size=8), max_size=2))
def test_built_attestations_verify(world: AttestationWorld, lifetime: int, age: int, extra: dict) -> None:
    jwt = build_client_attestation(world.attester_key, issuer=world.attester_issuer, client_id=world.client_id,
                                   instance_key=world.instance_key.public_key, now=world.now - age,
                                   lifetime=lifetime, claims=extra)
    if age >= lifetime:
        return  # expired: covered by the defect strategies
    att = verify_client_attestation(jwt, client_id=world.client_id, attesters=world.attesters,
                                    policy=world.policy, now=world.now)
    assert att.cnf_jkt == world.instance_key.thumbprint and att.exp - (att.iat or 0) == lifetime
    assert all(att.claims[k] == v for k, v in extra.items())


@pytest.mark.requirement("HP-ATT-06")
def test_attester_refuses_unsafe_input(world: AttestationWorld) -> None:
    base = {"issuer": world.attester_issuer, "client_id": world.client_id, "now": world.now}
    for instance_key in (world.private_instance_jwk(), {"kty": "oct", "k": "c2VjcmV0c2VjcmV0"}, {}):
        with pytest.raises(ConfigurationError):
            build_client_attestation(world.attester_key, instance_key=instance_key, **base)
    for kwargs in ({"lifetime": 0}, {"lifetime": 24 * 3600 + 1}, {"claims": {"sub": "someone-else"}},
                   {"claims": {"cnf": {}}}):
        with pytest.raises(ConfigurationError):
            build_client_attestation(world.attester_key, instance_key=world.instance_key.public_jwk(), **base,
                                     **kwargs)
    with pytest.raises(ConfigurationError):
        build_client_attestation(world.attester_key, instance_key=world.instance_key.public_key,
                                 issuer="", client_id=world.client_id, now=world.now)
