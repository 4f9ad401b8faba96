"""The explicit ``typ`` of every JWT kind hardened signs or verifies (RFC 8725 §3.11, RFC 7515 §4.1.9).

Each kind has its own media type, so that no JWT of one kind can ever be accepted as another: a DPoP proof is
never a client assertion, a software statement is never an access token. ``tests/jose`` checks they are distinct.
"""

from __future__ import annotations

from hardened.errors import JoseError

__all__ = ["Typ", "media_type"]


class Typ:
    """``typ`` header values, written without the ``application/`` prefix (RFC 7515 §4.1.9 recommends that)."""

    #: RFC 9449 §4.2
    DPOP = "dpop+jwt"
    #: RFC 9068 §2.1
    ACCESS_TOKEN = "at+jwt"  # noqa: S105 - a media type, not a secret
    #: RFC 9701 §5
    INTROSPECTION = "token-introspection+jwt"
    #: draft-ietf-oauth-rfc7523bis §4 (explicit typing of client authentication JWTs)
    CLIENT_ASSERTION = "client-authentication+jwt"
    #: hardened profile HP-SS: software statements signed by an authority (RFC 7591 §2.3 names no typ)
    SOFTWARE_STATEMENT = "software-statement+jwt"
    #: draft-ietf-oauth-status-list §5.1: the authority's signed revocation (status) list
    STATUS_LIST = "statuslist+jwt"
    #: draft-ietf-oauth-attestation-based-client-auth §5.1
    CLIENT_ATTESTATION = "oauth-client-attestation+jwt"
    #: draft-ietf-oauth-attestation-based-client-auth §5.2
    CLIENT_ATTESTATION_POP = "oauth-client-attestation-pop+jwt"

    @classmethod
    def all(cls) -> dict[str, str]:
        return {k: v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}


def media_type(typ: str) -> str:
    """RFC 7515 §4.1.9: compare ``typ`` as a media type: case-insensitive, ``application/`` implied without '/'.

    Media types are ASCII (RFC 6838 §4.2): anything else is refused, so that no Unicode case mapping (the Kelvin
    sign lower-cases to ``k``) can make another string equal to a registered type.
    """
    if not isinstance(typ, str) or not typ.isascii():
        raise JoseError("ERR_JWS_TYP", "typ is not an ASCII string")
    lowered = typ.lower()
    return lowered if "/" in lowered else "application/" + lowered
