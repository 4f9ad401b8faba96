"""Interop (RFC 9449): requests-oauth2client (jwskate) proofs pass our check and ours pass its; the RFC examples."""

from __future__ import annotations

import time

import jwskate
import pytest
import requests
from requests_oauth2client.dpop import DPoPKey, DPoPToken, validate_dpop_proof

from hardened.client.dpop import DPoPAuth
from hardened.core.dpop import DPoPPolicy, access_token_hash, build_dpop_proof, verify_dpop_proof
from hardened.errors import InvalidDPoPProof
from hardened.jose import SigningKey, thumbprint
from hardened.testing.dpop import FIXED_NOW, key_pool

pytestmark = pytest.mark.requirement("HP-DPOP-24")
NOW = FIXED_NOW
TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"

# RFC 9449 §4.1/§5 (Figure 2: token request proof) and §7.1 (resource request proof with ath); their key
# and its RFC 7638 thumbprint as given in §6.1.
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_JWK = {"kty": "EC", "crv": "P-256", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
           "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}
RFC_TOKEN_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rs"
    "cEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2"
    "In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2Vu"
    "IiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0Rs"
    "cEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2"
    "In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90"
    "ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9"
    ".2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)


def test_rfc_token_request_proof() -> None:
    verified = verify_dpop_proof(RFC_TOKEN_PROOF, method="POST", uri="https://server.example.com/token",
                                 policy=DPoPPolicy(), now=1562262616)
    assert (verified.jti, verified.htm, verified.htu, verified.iat) == (
        "-BwC3ESc6acc2lTc", "POST", "https://server.example.com/token", 1562262616)
    assert verified.jkt == RFC_JKT == thumbprint(RFC_JWK)
    with pytest.raises(InvalidDPoPProof) as info:  # the same proof a minute and a bit later is too old
        verify_dpop_proof(RFC_TOKEN_PROOF, method="POST", uri="https://server.example.com/token",
                          policy=DPoPPolicy(), now=1562262616 + 61)
    assert info.value.detail == "DPOP_IAT_TOO_OLD"


def test_rfc_resource_request_proof() -> None:
    assert access_token_hash(TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    verified = verify_dpop_proof(RFC_RESOURCE_PROOF, method="GET", uri="https://resource.example.org/protectedresource",
                                 policy=DPoPPolicy(), now=1562262618, access_token=TOKEN, expected_jkt=RFC_JKT)
    assert (verified.jti, verified.htm) == ("e1j3V_bKic8-LAEB", "GET")


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_their_proofs_pass_our_check(alg: str) -> None:
    ours = next(k for k in key_pool() if k.alg == alg)  # their signer, our key material (no slow RSA keygen)
    key = DPoPKey(jwskate.Jwk.from_pem(ours.private_pem()), alg=alg, iat_generator=lambda: int(NOW))
    uri = "https://rs.example/mcp/tools?cursor=1"
    proof = str(key.proof(htm="POST", htu=uri, ath=access_token_hash(TOKEN)))
    verified = verify_dpop_proof(proof, method="POST", uri="https://RS.example:443/mcp/tools", policy=DPoPPolicy(),
                                 now=NOW, access_token=TOKEN, expected_jkt=key.dpop_jkt)
    assert verified.jkt == key.dpop_jkt


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_our_proofs_pass_their_check(alg: str) -> None:
    key = next(k for k in key_pool() if k.alg == alg)
    proof = build_dpop_proof(key, htm="GET", htu="https://rs.example/mcp?x=1", iat=time.time(), jti="interop-1",
                             access_token=TOKEN, nonce="n-1")
    checked = validate_dpop_proof(proof, htm="GET", htu="https://rs.example/mcp", ath=access_token_hash(TOKEN),
                                  nonce="n-1", algs=[alg])
    assert checked.headers["jwk"] == dict(key.public_key.jwk)
    # the same RFC 7638 thumbprint on both sides
    assert DPoPKey(jwskate.Jwk.from_pem(key.private_pem()), alg=alg).dpop_jkt == key.thumbprint


def test_their_client_against_our_server(live_server, clock) -> None:
    """requests-oauth2client's DPoP auth (requests) against our live AS and resource, nonces included."""
    key = DPoPKey.generate(alg="ES256", iat_generator=lambda: int(NOW))
    base, _, _ = live_server({TOKEN: key.dpop_jkt}, as_nonce=True, rs_nonce=True)
    first = requests.post(f"{base}/token", headers={"DPoP": str(key.proof(htm="POST", htu=f"{base}/token"))},
                          timeout=10)
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    key.handle_as_provided_dpop_nonce(first)
    second = requests.post(f"{base}/token", timeout=10, headers={
        "DPoP": str(key.proof(htm="POST", htu=f"{base}/token", nonce=key.as_nonce))})
    assert second.json() == {"jkt": key.dpop_jkt}
    response = requests.get(f"{base}/mcp", auth=DPoPToken(TOKEN, _dpop_key=key), timeout=10)
    assert response.status_code == 200 and response.json() == {"jkt": key.dpop_jkt}


def test_our_client_with_their_key_format(live_server, clock) -> None:
    """A key made by jwskate, loaded into our agent, works against our server (keys move between tools)."""
    their = DPoPKey.generate(alg="ES256")
    key = SigningKey.from_private_jwk(their.private_key.to_dict())
    base, _, _ = live_server({TOKEN: their.dpop_jkt}, rs_nonce=True)
    import httpx

    with httpx.Client(auth=DPoPAuth(key, access_token=TOKEN, resource=base, clock=clock), timeout=10) as client:
        assert client.get(f"{base}/mcp").json() == {"jkt": their.dpop_jkt}
