"""RFC 8705 clients registered through the authority: the ``authority`` CLI signs a statement (x5c for a
self-signed client, a ``tls_client_auth_*`` subject for a PKI client) and a real hardened AS registers it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from authority.cli import main
from authority.service import Authority
from authority.x5c import MAX_X5C_CERTS, canonical_client_jwks
from hardened.adapters.authority_status import StatusListChecker
from hardened.clock import FixedClock
from hardened.core.mtls import check_self_signed_tls_client_auth
from hardened.core.software_statement import TrustedAuthority
from hardened.errors import InvalidClient, InvalidClientMetadata
from hardened.jose import KeySet
from hardened.server.config import StatementVerifier
from hardened.server.mtls import MTLSConfig
from hardened.server.statements import statement_verifier
from pki.ca import CertificateAuthority, SubjectAltNames, self_signed_certificate
from pki.verify import TrustAnchors
from tests.mtls.as_world import x5c_jwk
from tests.server.world import REDIRECT, Keys, World

ISSUER = "https://authority.example"
START = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
SELF = self_signed_certificate("CN=self-agent", sans=SubjectAltNames(dns=("self.example",)), not_before=START)
OTHER = self_signed_certificate("CN=other", sans=SubjectAltNames(dns=("other.example",)), not_before=START)
ANCHORS = TrustAnchors((CertificateAuthority.create_root("CN=Root", not_before=START).certificate,))
SELF_SIGNED = ["--auth-method", "self_signed_tls_client_auth", "--sender-constraint", "mtls"]


def b64(cert: Any) -> str:
    return base64.b64encode(cert.certificate.public_bytes(Encoding.DER)).decode()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


class Operator:
    """An initialised authority data folder driven through the CLI, with organisation ``acme``."""

    def __init__(self, folder: Path, capsys) -> None:
        self.folder, self.capsys = folder, capsys
        self.ok("init", "--issuer", ISSUER)
        self.ok("org", "add", "--id", "acme", "--name", "Acme Trading Ltd")

    def run(self, *argv: str) -> tuple[int, str, str]:
        return run(self.capsys, "--data-dir", str(self.folder / "data"), *argv)

    def ok(self, *argv: str) -> str:
        code, out, err = self.run(*argv)
        assert code == 0, err
        return out

    def jwks_file(self, jwks: Any) -> str:
        path = self.folder / "client-jwks.json"
        path.write_text(json.dumps(jwks))
        return str(path)

    def add(self, *options: str, jwks: Any = None) -> tuple[int, str, str]:
        key = ["--jwks-file", self.jwks_file(jwks)] if jwks is not None else ["--jwks-uri", "https://a.example/j"]
        return self.run("software", "add", "--id", "acme-agent", "--org", "acme", "--name", "Acme Agent",
                        "--redirect-uri", REDIRECT, "--scope", "trades:read", *key, *options)

    def sign(self) -> str:
        return self.ok("sign", "acme-agent").strip()

    def verifier(self, clock: FixedClock) -> StatementVerifier:
        """What a hardened AS runs: this authority's keys pinned, its status list read (in-process)."""
        authority = Authority(self.folder / "data")
        trusted = TrustedAuthority(authority.issuer, KeySet.from_jwks(authority.jwks()))
        status = StatusListChecker(lambda uri: (authority.status_list_token(), None), authorities=[trusted],
                                   clock=clock, max_age=1)
        return statement_verifier([trusted], status=status)

    def as_world(self) -> World:
        """A hardened AS (in-process) that trusts this authority."""
        clock = FixedClock(time.time())  # the CLI signs at the wall clock
        return World(Keys(), clock, statement_verifier=self.verifier(clock), baseline=False,
                     mtls=MTLSConfig(ANCHORS))


@pytest.fixture
def operator(tmp_path: Path, capsys) -> Operator:
    return Operator(tmp_path, capsys)


@pytest.mark.requirement("HP-MTLS-28")
def test_cli_signs_x5c_and_the_as_registers_the_self_signed_client(operator: Operator) -> None:
    operator.add(*SELF_SIGNED, jwks={"keys": [x5c_jwk(SELF)]})
    statement = operator.sign()
    world = operator.as_world()
    r = world.http.post("/register", json={"software_statement": statement})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_endpoint_auth_method"] == "self_signed_tls_client_auth"
    assert body["tls_client_certificate_bound_access_tokens"] is True
    jwks = world.store.get_client(body["client_id"]).metadata.jwks
    assert jwks["keys"][0]["x5c"] == [b64(SELF)]
    check_self_signed_tls_client_auth(jwks, SELF.certificate)  # the registered certificate authenticates
    with pytest.raises(InvalidClient):
        check_self_signed_tls_client_auth(jwks, OTHER.certificate)


def _urlsafe(cert: Any) -> str:
    value = base64.urlsafe_b64encode(cert.certificate.public_bytes(Encoding.DER)).decode().rstrip("=")
    assert "-" in value or "_" in value  # a ~400-byte DER always has some; the test needs one
    return value


def _with_x5c(x5c: Any) -> dict[str, Any]:
    return {"keys": [{**x5c_jwk(SELF), "x5c": x5c}]}


BAD_X5C = [
    ("wrong key", _with_x5c([b64(OTHER)]), "certifies another key than keys[0]"),
    ("garbage", _with_x5c(["bm90IGEgY2VydGlmaWNhdGU="]), "is not a DER X.509 certificate"),
    ("not base64", _with_x5c(["***"]), "is not standard base64"),
    ("base64url", _with_x5c([_urlsafe(SELF)]), "is base64url; x5c needs standard base64"),
    ("no padding", _with_x5c(["QQ"]), "check its = padding"),
    ("non-canonical", _with_x5c(["QR=="]), "is not canonical base64"),
    ("PEM line breaks", _with_x5c([b64(SELF)[:64] + "\n" + b64(SELF)[64:]]), "no whitespace or line breaks"),
    ("too many", _with_x5c([b64(SELF)] * (MAX_X5C_CERTS + 1)), f"list of 1 to {MAX_X5C_CERTS} certificates"),
    ("empty", _with_x5c([]), "list of 1 to"),
    ("not a list", _with_x5c(b64(SELF)), "list of 1 to"),
    ("too large", _with_x5c(["A" * 20_000]), "larger than 8192 bytes"),
    ("a key without x5c", {"keys": [x5c_jwk(SELF), {k: v for k, v in x5c_jwk(OTHER).items() if k != "x5c"}]},
     "keys[1] has no x5c"),
]


@pytest.mark.requirement("HP-MTLS-28")
@pytest.mark.parametrize(("jwks", "message"), [c[1:] for c in BAD_X5C], ids=[c[0] for c in BAD_X5C])
def test_bad_x5c_is_one_clear_operator_error(operator: Operator, jwks: Any, message: str) -> None:
    code, _, err = operator.add(*SELF_SIGNED, jwks=jwks)
    assert code == 1 and err.startswith("authority: error: jwks: ") and message in err, err
    assert err.count("\n") == 1 and "?" not in err  # one readable line (no character replaced)


@pytest.mark.requirement("HP-MTLS-28")
@pytest.mark.parametrize(("options", "jwks", "message"), [
    (SELF_SIGNED, None, "needs jwks by value with x5c"),
    (["--auth-method", "private_key_jwt"], {"keys": [x5c_jwk(SELF)]}, "only accepted with self_signed"),
    (["--auth-method", "tls_client_auth", "--tls-client-auth-subject-dn", "CN=a"], {"keys": [x5c_jwk(SELF)]},
     "only accepted with self_signed"),
])
def test_x5c_only_and_always_with_self_signed(operator: Operator, options: list[str], jwks: Any,
                                             message: str) -> None:
    code, _, err = operator.add(*options, jwks=jwks)
    assert code == 1 and message in err, err


@pytest.mark.requirement("HP-MTLS-28")
def test_canonical_jwks_keeps_only_public_members_and_x5c() -> None:
    jwk = {**x5c_jwk(SELF), "x5u": "https://evil.example/c", "ext": True}
    out = canonical_client_jwks({"keys": [jwk]}, "self_signed_tls_client_auth")
    assert set(out["keys"][0]) == {"kty", "crv", "x", "y", "kid", "alg", "use", "x5c"}
    no_x5c = {k: v for k, v in x5c_jwk(SELF).items() if k != "x5c"}
    assert "x5c" not in canonical_client_jwks({"keys": [no_x5c]}, "private_key_jwt")["keys"][0]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=12)


@pytest.mark.requirement("HP-MTLS-28")
@given(x5c=JSON | st.lists(st.text(alphabet="ABCDEFabcdef0123456789+/=-_ \n", max_size=80), max_size=5),
       method=st.sampled_from(["self_signed_tls_client_auth", "private_key_jwt", "tls_client_auth"]))
def test_arbitrary_x5c_is_refused_with_our_error(x5c: Any, method: str) -> None:
    with pytest.raises(InvalidClientMetadata):
        canonical_client_jwks(_with_x5c(x5c), method)


SUBJECTS = [("subject-dn", "tls_client_auth_subject_dn", "CN=agent-1,O=Example"),
            ("san-dns", "tls_client_auth_san_dns", "a1.agents.example"),
            ("san-uri", "tls_client_auth_san_uri", "https://agents.example/a1"),
            ("san-ip", "tls_client_auth_san_ip", "192.0.2.7"),
            ("san-email", "tls_client_auth_san_email", "agent@agents.example")]


@pytest.mark.requirement("HP-MTLS-29")
@pytest.mark.parametrize(("flag", "claim", "value"), SUBJECTS, ids=[s[0] for s in SUBJECTS])
def test_subject_flag_is_signed_and_registered(operator: Operator, flag: str, claim: str, value: str) -> None:
    code, _, err = operator.add("--auth-method", "tls_client_auth", "--sender-constraint", "mtls",
                                f"--tls-client-auth-{flag}", value, jwks={"keys": [Keys().agent.public_jwk()]})
    assert code == 0, err
    world = operator.as_world()
    r = world.http.post("/register", json={"software_statement": operator.sign()})
    assert r.status_code == 201, r.text
    assert r.json()[claim] == value and r.json()["token_endpoint_auth_method"] == "tls_client_auth"
    assert world.store.get_client(r.json()["client_id"]).metadata.tls_client_auth == {claim: value}


@pytest.mark.requirement("HP-MTLS-29")
@pytest.mark.parametrize("options", [
    ["--auth-method", "tls_client_auth", "--tls-client-auth-subject-dn", "CN=a", "--tls-client-auth-san-dns", "a.b"],
    ["--auth-method", "private_key_jwt", "--tls-client-auth-san-uri", "https://agents.example/a1"],
    ["--tls-client-auth-san-email", "agent@agents.example"],
])
def test_subject_flags_follow_the_one_subject_rule(operator: Operator, options: list[str]) -> None:
    code, _, err = operator.add(*options)
    assert code == 1 and "at most one tls_client_auth_* subject, and only with tls_client_auth" in err, err


@pytest.mark.requirement("HP-MTLS-28")
@given(rest=st.lists(st.sampled_from([SELF, OTHER]), max_size=MAX_X5C_CERTS - 1))
def test_valid_x5c_chains_are_kept_as_given(rest: list[Any]) -> None:
    x5c = [b64(SELF), *(b64(c) for c in rest)]
    out = canonical_client_jwks(_with_x5c(x5c), "self_signed_tls_client_auth")
    assert out["keys"][0]["x5c"] == x5c


@pytest.mark.requirement("HP-MTLS-28")
@given(jwks=JSON, method=st.sampled_from(["self_signed_tls_client_auth", "private_key_jwt"]))
def test_arbitrary_jwks_never_raises_anything_but_ours(jwks: Any, method: str) -> None:
    with pytest.raises(InvalidClientMetadata):  # random JSON is never a valid key set
        canonical_client_jwks(jwks, method)
