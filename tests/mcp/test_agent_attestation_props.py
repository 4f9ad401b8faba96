"""Property tests for the attested agent's reading of AS answers (HP-ATT-30): arbitrary bodies and headers never
raise, only a single bounded challenge header is learnt, and only a JSON 400/401 ``error`` is read."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.attestation import CHALLENGE_HEADER, MAX_CHALLENGE
from hardened.jose import SigningKey
from hardened.mcp.agent_attestation import AgentAttestation, attestation_error

KEY = SigningKey.generate("ES256")
header_value = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=MAX_CHALLENGE + 8)


def attestation() -> AgentAttestation:
    return AgentAttestation(KEY, "i-1", "http://127.0.0.1:9/attester/attestations")


@pytest.mark.requirement("HP-ATT-30")
@given(status=st.integers(100, 599), body=st.binary(max_size=600))
def test_attestation_error_never_raises(status: int, body: bytes) -> None:
    value = attestation_error(httpx.Response(status, content=body))
    assert value is None or (isinstance(value, str) and status in (400, 401))


@pytest.mark.requirement("HP-ATT-30")
@given(status=st.sampled_from([400, 401]), error=st.text(max_size=40))
def test_attestation_error_reads_the_json_error(status: int, error: str) -> None:
    assert attestation_error(httpx.Response(status, content=json.dumps({"error": error}).encode())) == error
    assert attestation_error(httpx.Response(200, content=json.dumps({"error": error}).encode())) is None


@pytest.mark.requirement("HP-ATT-30")
@given(values=st.lists(header_value, max_size=3))
def test_only_one_bounded_challenge_is_learnt(values: list[str]) -> None:
    att = attestation()
    response = httpx.Response(400, headers=[(CHALLENGE_HEADER, v) for v in values])
    fresh = att.learn(response)
    usable = len(values) == 1 and 0 < len(values[0]) <= MAX_CHALLENGE
    assert fresh == usable
    assert att.challenge == (values[0] if usable else None)
    assert att.learn(response) is False  # the same challenge again is not new


@pytest.mark.requirement("HP-ATT-30")
def test_deeply_nested_error_body_is_no_error() -> None:
    assert attestation_error(httpx.Response(400, content=b"[" * 4096)) is None
