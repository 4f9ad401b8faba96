"""Stateless DPoP nonces (RFC 9449 §8, §9)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.core.dpop_nonce import NonceSource
from hardened.errors import ConfigurationError

SECRET = b"s" * 32
NOW = 1_767_225_600.0
pytestmark = pytest.mark.requirement("HP-DPOP-13")


@given(st.floats(0, 4e9), st.integers(1, 600), st.integers(0, 3))
def test_accepted_in_its_step_and_the_window_after(now: float, step: int, window: int) -> None:
    source = NonceSource(SECRET, "https://as.example", step=step, window=window)
    nonce = source.issue(now)
    start = (now // step) * step
    assert source.check(nonce, now)
    assert source.check(nonce, start)
    assert source.check(nonce, start + step * (window + 1) - 0.001)
    assert not source.check(nonce, start + step * (window + 1))
    assert not source.check(nonce, start - step)


def test_any_replica_with_the_secret_checks_it() -> None:
    assert NonceSource(SECRET, "https://as.example").check(NonceSource(SECRET, "https://as.example").issue(NOW), NOW)


def test_other_servers_and_secrets_differ() -> None:
    as_nonce = NonceSource(SECRET, "https://as.example").issue(NOW)
    rs1 = NonceSource(SECRET, "https://rs1.example")
    rs2 = NonceSource(SECRET, "https://rs2.example")
    assert len({as_nonce, rs1.issue(NOW), rs2.issue(NOW)}) == 3
    assert not rs1.check(as_nonce, NOW)
    assert not rs1.check(rs2.issue(NOW), NOW)
    assert not NonceSource(b"t" * 32, "https://as.example").check(as_nonce, NOW)


def test_nonce_is_base64url_of_a_sha256_mac() -> None:
    nonce = NonceSource(SECRET, "https://as.example").issue(NOW)
    assert len(nonce) == 43 and set(nonce) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.one_of(st.text(max_size=300), st.none(), st.integers(), st.binary(max_size=50)))
def test_arbitrary_values_are_false(value: object) -> None:
    assert NonceSource(SECRET, "https://as.example").check(value, NOW) is False


@pytest.mark.parametrize("kwargs", [{"secret": b"short"}, {"secret": "s" * 40}, {"audience": ""},
                                    {"step": 0}, {"window": 10}])
def test_configuration_is_checked(kwargs: dict) -> None:
    args = {"secret": SECRET, "audience": "https://as.example", **kwargs}
    with pytest.raises(ConfigurationError):
        NonceSource(args.pop("secret"), args.pop("audience"), **args)
