"""The authority's signed revocation list: a Status List Token (draft-ietf-oauth-status-list §4, §5; HP-SS).

Each statement carries ``status.status_list = {idx, uri}`` (§6.1). The list at ``uri`` is a JWT of ``typ``
``statuslist+jwt`` whose ``status_list`` claim holds ``bits`` (2 here) and ``lst``: the base64url of the
ZLIB-compressed (RFC 1950) byte array in which statement ``idx`` occupies bits ``idx*bits .. idx*bits+bits-1``,
least significant first (§4.1). Values (§7.1): 0 VALID, 1 INVALID (revoked), 2 SUSPENDED.

Pure: the bytes are given, the clock is ``now``; fetching and caching live in
:mod:`hardened.adapters.authority_status`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hardened.core.software_statement import TrustedAuthority, VerifiedSoftwareStatement
from hardened.errors import JoseError, UnapprovedSoftwareStatement
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, Typ, b64url_decode, b64url_encode, verify_jwt

__all__ = [
    "INVALID",
    "STATUS_NAMES",
    "SUSPENDED",
    "VALID",
    "StatusListPolicy",
    "VerifiedStatusList",
    "check_statement_status",
    "decode_status_list",
    "encode_status_list",
    "verify_status_list",
]

VALID, INVALID, SUSPENDED = 0, 1, 2
STATUS_NAMES = {VALID: "valid", INVALID: "revoked", SUSPENDED: "suspended", 3: "unknown"}
BITS = 2


@dataclass(frozen=True, slots=True)
class StatusListPolicy:
    """How fresh and how large a status list may be. ``max_age``: the longest an AS trusts one list."""

    max_age: float = 3600.0
    max_future_skew: float = 10.0
    max_token: int = 65_536
    max_entries: int = 4_000_000


@dataclass(frozen=True, slots=True)
class VerifiedStatusList:
    """A verified status list: where it came from, when it was made, until when it may be used."""

    issuer: str
    uri: str
    iat: float
    exp: float
    ttl: float | None
    bits: int
    statuses: bytes

    def status(self, idx: int) -> int | None:
        """The status of entry ``idx``; ``None`` when the list is too short to hold it."""
        byte, shift = divmod(idx * self.bits, 8)
        if idx < 0 or byte >= len(self.statuses):
            return None
        return (self.statuses[byte] >> shift) & ((1 << self.bits) - 1)

    def fresh_until(self, fetched_at: float, max_age: float) -> float:
        """The instant after which this list must be fetched again: min of exp, ttl and the AS's max age."""
        limits = [self.exp, fetched_at + max_age] + ([fetched_at + self.ttl] if self.ttl is not None else [])
        return min(limits)


def encode_status_list(statuses: Mapping[int, int], *, size: int = 0) -> dict[str, Any]:
    """``{"bits": 2, "lst": ...}`` for ``statuses`` (idx -> value); entries not given are VALID."""
    count = max([size, *(i + 1 for i in statuses)])
    data = bytearray((count * BITS + 7) // 8)
    for idx, value in statuses.items():
        if not 0 <= value < (1 << BITS):
            raise ValueError("status value out of range")
        byte, shift = divmod(idx * BITS, 8)
        data[byte] |= value << shift
    return {"bits": BITS, "lst": b64url_encode(zlib.compress(bytes(data), 9))}


def decode_status_list(value: Any, *, max_entries: int) -> tuple[int, bytes]:
    """Check and inflate a ``status_list`` claim (bounded: no decompression bomb). Raises ValueError."""
    if not isinstance(value, dict) or not isinstance(value.get("lst"), str):
        raise ValueError("status_list claim is not an object with lst")
    bits = value.get("bits")
    if isinstance(bits, bool) or bits not in (1, 2, 4, 8):
        raise ValueError("status_list bits is not 1, 2, 4 or 8")
    limit = (max_entries * bits + 7) // 8
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(b64url_decode(value["lst"], what="lst"), limit + 1)
        if len(data) > limit or not inflater.eof:
            raise ValueError("status list is too large or truncated")
    except (zlib.error, JoseError) as exc:
        raise ValueError("status_list lst is not base64url ZLIB data") from exc
    return bits, data


def _unapproved(detail: str) -> UnapprovedSoftwareStatement:
    return UnapprovedSoftwareStatement("the status of the software statement could not be established", detail=detail)


def verify_status_list(
    jwt: Any, *, authority: TrustedAuthority, uri: str, policy: StatusListPolicy, now: float
) -> VerifiedStatusList:
    """Verify a Status List Token (draft-ietf-oauth-status-list §8.3) from ``authority`` published at ``uri``.

    Any defect means the statement's status cannot be established, so the AS must refuse it: this raises
    ``unapproved_software_statement`` (fail closed), with the reason in ``detail`` only.
    """
    jws = JWSPolicy(typ=Typ.STATUS_LIST, max_token=policy.max_token, max_payload=policy.max_token)
    claims = ClaimsPolicy(issuer=authority.issuer, subject=uri, require=("status_list",),
                          max_future_skew=policy.max_future_skew)
    try:
        verified = verify_jwt(jwt, policy=JWTPolicy(jws=jws, claims=claims), now=now, keys=authority.keys)
        ttl = verified.claims.get("ttl")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < 2**31):
            raise ValueError("ttl claim is not a positive number")
        bits, data = decode_status_list(verified.claims["status_list"], max_entries=policy.max_entries)
    except JoseError as exc:
        raise _unapproved(f"status list: {exc.code}") from None
    except ValueError as exc:
        raise _unapproved(f"status list: {exc}") from None
    return VerifiedStatusList(issuer=authority.issuer, uri=uri, iat=float(verified.claims["iat"]),
                              exp=float(verified.claims["exp"]), ttl=None if ttl is None else float(ttl),
                              bits=bits, statuses=data)


def check_statement_status(statement: VerifiedSoftwareStatement, status_list: VerifiedStatusList) -> None:
    """Refuse a statement whose entry is not VALID (draft-ietf-oauth-status-list §8.2): revoked, suspended or
    absent; the list must be the one the statement names, from the statement's own issuer."""
    ref = statement.metadata.status
    if ref is None or ref.uri != status_list.uri or statement.issuer != status_list.issuer:
        raise _unapproved("statement does not reference this status list")
    value = status_list.status(ref.idx)
    if value is None:
        raise _unapproved("statement index is beyond the status list")
    if value != VALID:
        raise UnapprovedSoftwareStatement(f"the software statement is {STATUS_NAMES.get(value, 'unknown')}",
                                          detail=f"status {value}")
