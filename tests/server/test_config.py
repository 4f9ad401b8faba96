"""Configuration mistakes fail at start-up (DESIGN §4): lifetimes are positive, finite and short."""

from __future__ import annotations

import math

import pytest

from hardened.errors import ConfigurationError
from hardened.server.config import LIFETIME_BOUNDS
from tests.server.world import make_config


@pytest.mark.requirement("HP-TOK-02")
@pytest.mark.parametrize("name", sorted(LIFETIME_BOUNDS))
@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "above"])
def test_lifetimes_out_of_bounds_fail_at_start_up(keys, name: str, bad) -> None:
    value = LIFETIME_BOUNDS[name] + 1 if bad == "above" else bad
    with pytest.raises(ConfigurationError):
        make_config(keys, **{name: value})


@pytest.mark.requirement("HP-TOK-02")
def test_lifetimes_at_their_bounds_are_accepted(keys) -> None:
    config = make_config(keys, **LIFETIME_BOUNDS)
    assert config.access_token_lifetime == LIFETIME_BOUNDS["access_token_lifetime"]
