"""Request parameters (RFC 6749 §3.1): each at most once, an empty value included."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardened.errors import InvalidRequest
from hardened.server.forms import unique_params


@pytest.mark.requirement("HP-AS-11")
@pytest.mark.parametrize("pairs", [[("a", ""), ("a", "x")], [("a", "x"), ("a", "")], [("a", ""), ("a", "")]])
def test_a_parameter_repeated_with_an_empty_value_is_refused(pairs) -> None:
    with pytest.raises(InvalidRequest):
        unique_params(pairs)


@pytest.mark.requirement("HP-AS-11")
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from(["", "x", "y"])), max_size=6))
def test_unique_params_accepts_exactly_the_unrepeated(pairs) -> None:
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        with pytest.raises(InvalidRequest):
            unique_params(pairs)
    else:
        assert unique_params(pairs) == {n: v for n, v in pairs if v}


def test_par_refuses_a_repeat_hidden_behind_an_empty_value(world) -> None:
    body = "&".join(f"{k}={v}" for k, v in world.auth().items()) + "&redirect_uri=&redirect_uri=https://x.example/"
    r = world.http.post("/par", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "repeated" in r.json().get("error_description", "")
