"""RFC 8705 §2.1.2 subject DN matching as RFC 4514 structure (RFC 4517/4518 value rules)."""

from __future__ import annotations

import contextlib

import pytest
from cryptography import x509
from hypothesis import assume, given
from hypothesis import strategies as st

from hardened.core.distinguished_name import DNSyntaxError, dn_of_name, parse_dn
from hardened.testing.mtls import names


def _name(text: str) -> x509.Name:
    return x509.Name.from_rfc4514_string(text)


@pytest.mark.requirement("HP-MTLS-05")
@given(names())
def test_rfc4514_string_of_a_name_parses_to_the_same_structure(name: x509.Name) -> None:
    assert parse_dn(name.rfc4514_string()) == dn_of_name(name)


@pytest.mark.requirement("HP-MTLS-05")
@given(names(max_rdns=4), st.randoms(use_true_random=False))
def test_reordered_rdns_never_match(name: x509.Name, rng) -> None:
    rdns = list(name.rdns)
    shuffled = rdns[:]
    rng.shuffle(shuffled)
    assume(dn_of_name(x509.Name(shuffled)) != dn_of_name(name))
    assert parse_dn(x509.Name(shuffled).rfc4514_string()) != dn_of_name(name)


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.parametrize(("registered", "subject"), [
    ("CN=agent-1,O=Example", "CN=agent-1,O=Example"),
    ("cn=AGENT-1,o=example", "CN=agent-1,O=Example"),  # attribute types and values ignore case
    ("CN=agent  1,O=Example", "CN=agent 1,O=Example"),  # inner spaces fold (RFC 4518 §2.6.1)
    ("CN=a\\,b+UID=u1,O=Ex", "UID=u1+CN=a\\,b,O=Ex"),  # a multi-valued RDN is a set
    ("CN=\\41gent", "CN=Agent"),  # hex escapes
    ("CN=\\C3\\A9t\\C3\\A9", "CN=été"),
    ("2.5.4.3=agent-1", "CN=agent-1"),  # numeric OID for a known type
    ("1.2.3.4=Exact", "1.2.3.4=Exact"),
    ("CN=ﬁ", "CN=fi"),  # NFKC
    ("CN=agent-1", "CN=agent-1\\ "),  # trailing spaces are insignificant (RFC 4518 §2.6.1)
])
def test_equal_structures_match(registered: str, subject: str) -> None:
    assert parse_dn(registered) == dn_of_name(_name(subject))


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.parametrize(("registered", "subject"), [
    ("O=Example,CN=agent-1", "CN=agent-1,O=Example"),  # order is significant
    ("CN=agent-1", "CN=agent-1,O=Example"),  # a prefix is not a match
    ("CN=agent-1,O=Example", "CN=agent-1"),
    ("CN=agent", "CN=agent-1"),  # no substring
    ("CN=agent-1,O=Example", "CN=agent-1+O=Example"),  # RDN structure differs
    ("1.2.3.4=Exact", "1.2.3.4=exact"),  # unknown types compare exactly
    ("CN=agent-1", "CN=agent-2"),
    ("CN=agent-1", "O=agent-1"),  # same value, other attribute type
])
def test_different_structures_do_not_match(registered: str, subject: str) -> None:
    assert parse_dn(registered) != dn_of_name(_name(subject))


@pytest.mark.requirement("HP-MTLS-05")
@pytest.mark.parametrize("text", [
    "", "CN", "=x", "CN=", "CN=a,", ",CN=a", "CN=a,,O=b", "CN=a;O=b", "CN=a, O=b", "CN= a", "CN=a ",
    "CN=#0403616263", "XX=a", "1.02.3=a", "CN=a\\", "CN=a\\zz", "CN=a+CN=b", "CN=a\"b", "CN=\\ff\\fe",
    "CN=" + "a" * 3000,
])
def test_malformed_dns_are_refused(text: str) -> None:
    with pytest.raises(DNSyntaxError):
        parse_dn(text)


@pytest.mark.requirement("HP-MTLS-05")
@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_raises_dn_syntax_error(text: str) -> None:
    with contextlib.suppress(DNSyntaxError):
        parse_dn(text)
