"""Property tests of the attestation request check (hardened.core.attestation_request; HP-ATT-20, 24, 27)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.attestation_request import (
    ATTESTATION_REQUEST_TYP,
    AttestationRequestPolicy,
    build_attestation_request,
    check_client_id,
    verify_attestation_request,
)
from hardened.errors import ConfigurationError, InvalidClient
from hardened.jose import Typ
from hardened.testing.attester import REQUEST_DEFECTS, InstanceWorld, defective_requests, valid_requests

POLICY = AttestationRequestPolicy()


def _verify(world: InstanceWorld, token: object):
    return verify_attestation_request(token, instances=world, audience=world.audience, policy=POLICY, now=world.now)


@pytest.mark.requirement("HP-ATT-20")
@given(data=st.data())
def test_valid_requests_are_accepted(world: InstanceWorld, data: st.DataObject) -> None:
    case = data.draw(valid_requests(world))
    verified = _verify(world, case.token)
    assert verified.instance_id == world.instance_id
    assert verified.jkt == world.key.thumbprint
    assert len(verified.replay_key) == 64 and verified.replay_ttl == 70


@pytest.mark.requirement("HP-ATT-20", "HP-ATT-24")
@given(data=st.data())
def test_each_defect_is_refused_with_its_exact_error(world: InstanceWorld, data: st.DataObject) -> None:
    case = data.draw(defective_requests(world))
    with pytest.raises(InvalidClient) as caught:
        _verify(world, case.token)
    assert type(caught.value) is InvalidClient
    assert caught.value.detail == case.detail, case.defect


def test_every_defect_is_drawn() -> None:
    assert len(REQUEST_DEFECTS) == 16
    assert ATTESTATION_REQUEST_TYP not in Typ.all().values()  # our own kind, distinct from every registered one


@pytest.mark.requirement("HP-ATT-27")
@given(token=st.one_of(st.none(), st.integers(), st.text(max_size=200), st.binary(max_size=50),
                       st.lists(st.text(max_size=5), max_size=3),
                       st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=40), st.text(max_size=40),
                                 st.text(max_size=40))))
def test_arbitrary_input_raises_only_invalid_client(world: InstanceWorld, token: object) -> None:
    with pytest.raises(InvalidClient):
        _verify(world, token)


@pytest.mark.requirement("HP-ATT-24")
def test_replay_key_names_the_key_and_jti_not_the_token_text(world: InstanceWorld) -> None:
    first = _verify(world, world.request(jti="same"))
    again = _verify(world, world.request(jti="same", iat=int(world.now) - 5))  # another token, same jti
    other = _verify(world, world.request(jti="other"))
    assert first.replay_key == again.replay_key != other.replay_key


@pytest.mark.requirement("HP-ATT-28")
def test_built_requests_verify_and_are_fresh(world: InstanceWorld) -> None:
    one = build_attestation_request(world.key, instance_id=world.instance_id, client_id="c", audience=world.audience,
                                    now=world.now)
    two = build_attestation_request(world.key, instance_id=world.instance_id, client_id="c", audience=world.audience,
                                    now=world.now)
    assert _verify(world, one).jti != _verify(world, two).jti


@given(value=st.one_of(st.text(max_size=300), st.integers(), st.none()))
def test_client_id_rule(value: object) -> None:
    ok = isinstance(value, str) and 0 < len(value) <= 255 and all("!" <= c <= "~" for c in value)
    if ok:
        assert check_client_id(value) == value
    else:
        with pytest.raises(InvalidClient):
            check_client_id(value)


def test_policy_bounds() -> None:
    for bad in ({"max_age": 0}, {"max_age": 301}, {"max_future_skew": 61}, {"algorithms": ("HS256",)},
                {"algorithms": ()}, {"max_lifetime": 0}):
        with pytest.raises(ConfigurationError):
            AttestationRequestPolicy(**bad)
