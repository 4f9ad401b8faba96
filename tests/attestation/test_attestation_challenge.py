"""Stateless attestation challenges (hardened.core.attestation_challenge): ABCA §6, §11.1."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.attestation_challenge import CHALLENGE_LENGTH, AttestationChallenges
from hardened.errors import ConfigurationError
from hardened.jose import b64url_decode, b64url_encode

SECRET = b"s" * 32
OTHER = b"o" * 32
NOW = 1_767_225_600.0


@pytest.mark.requirement("HP-ATT-13")
@given(offset=st.floats(0, 60 - 1e-6), issued=st.floats(0, 10**6))
def test_a_challenge_is_accepted_within_its_window_and_refused_after(offset: float, issued: float) -> None:
    source = AttestationChallenges(SECRET, "https://as.example.org", step=60, window=2)
    at = NOW + issued
    challenge = source.issue(at)
    assert len(challenge) == CHALLENGE_LENGTH
    assert source.check(challenge, at)
    assert source.check(challenge, at + offset)  # less than one step later: always still valid
    assert not source.check(challenge, at + source.lifetime + offset)  # after the window: never
    assert not source.check(challenge, at - 60 - offset)  # issued "in the future" of the checker: refused


@pytest.mark.requirement("HP-ATT-13")
def test_challenges_are_bound_to_secret_and_audience() -> None:
    source = AttestationChallenges(SECRET, "https://as.example.org")
    challenge = source.issue(NOW)
    assert not AttestationChallenges(OTHER, "https://as.example.org").check(challenge, NOW)
    assert not AttestationChallenges(SECRET, "https://rs.example.org").check(challenge, NOW)
    assert source.issue(NOW) != challenge  # a random salt in each


@pytest.mark.requirement("HP-ATT-13")
def test_secret_rotation_old_secret_still_checks() -> None:
    old = AttestationChallenges(OTHER, "aud").issue(NOW)
    rotated = AttestationChallenges([SECRET, OTHER], "aud")
    assert rotated.check(old, NOW)
    assert AttestationChallenges(SECRET, "aud").check(rotated.issue(NOW), NOW)


@pytest.mark.requirement("HP-ATT-13")
@given(position=st.integers(0, 55), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    source = AttestationChallenges(SECRET, "aud")
    raw = bytearray(b64url_decode(source.issue(NOW)))
    raw[position] ^= 1 << bit
    assert not source.check(b64url_encode(bytes(raw)), NOW)


@pytest.mark.requirement("HP-ATT-13", "HP-ATT-19")
@given(value=st.one_of(st.text(max_size=100), st.none(), st.integers(), st.binary(max_size=60),
                       st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                               min_size=CHALLENGE_LENGTH, max_size=CHALLENGE_LENGTH)))
def test_arbitrary_values_never_check_and_never_raise(value: object) -> None:
    assert AttestationChallenges(SECRET, "aud").check(value, NOW) is False


@pytest.mark.requirement("HP-ATT-13")
def test_bad_configuration_fails_at_start_up() -> None:
    for kwargs in ({"secret": b"short"}, {"secret": []}, {"secret": SECRET, "audience": ""},
                   {"secret": SECRET, "step": 0.5}, {"secret": SECRET, "window": 0}):
        args = {"secret": SECRET, "audience": "aud", **kwargs}
        with pytest.raises(ConfigurationError):
            AttestationChallenges(args.pop("secret"), args.pop("audience"), **args)
