"""Distinguished names as structures (RFC 4514 strings, RFC 4517/4518 matching) for RFC 8705 §2.1.2.

``tls_client_auth_subject_dn`` is an RFC 4514 string. It is parsed into a sequence of RDNs, each a set of
(attribute type, value) pairs, and compared with the certificate's subject RDN by RDN, in order. Never by
substring, never after re-ordering: ``CN=a,O=b`` does not match a subject ``O=b,CN=a``.

Value comparison (documented simplification of RFC 4517 §4.2.11 caseIgnoreMatch and §4.2.12 caseIgnoreIA5Match
with RFC 4518 string preparation), for the attribute types this module knows (``KNOWN_TYPES``): Unicode NFKC,
case folding, leading and trailing spaces removed and inner runs of spaces collapsed to one. Attribute types
given by numeric OID that are not known here are compared exactly (we do not know their matching rule: fail
closed). Hex-encoded values (``#04...``, RFC 4514 §2.4) are refused: a registration must use the string form.
"""

from __future__ import annotations

import re
import unicodedata

from cryptography import x509

__all__ = ["KNOWN_TYPES", "DNSyntaxError", "DistinguishedName", "dn_of_name", "parse_dn"]

#: RFC 4514 §3 short names, RFC 4519 / X.520 / PKCS #9 attribute types: descriptor -> OID (all case-ignore).
KNOWN_TYPES: dict[str, str] = {
    "CN": "2.5.4.3", "L": "2.5.4.7", "ST": "2.5.4.8", "O": "2.5.4.10", "OU": "2.5.4.11", "C": "2.5.4.6",
    "STREET": "2.5.4.9", "DC": "0.9.2342.19200300.100.1.25", "UID": "0.9.2342.19200300.100.1.1",
    "SERIALNUMBER": "2.5.4.5", "SN": "2.5.4.4", "GIVENNAME": "2.5.4.42", "TITLE": "2.5.4.12",
    "POSTALCODE": "2.5.4.17", "ORGANIZATIONIDENTIFIER": "2.5.4.97", "EMAILADDRESS": "1.2.840.113549.1.9.1",
}
_CASE_IGNORE_OIDS = frozenset(KNOWN_TYPES.values())
_MAX_DN = 2048
_MAX_RDNS = 32
_NUMERICOID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+")
_DESCR = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_SPECIAL = frozenset('"+,;<>\\ #=')
_SPACES = re.compile(r" +")

#: One RDN: its (OID, prepared value) pairs, sorted (an RDN is a set, RFC 4512 §2.3.1).
RDN = tuple[tuple[str, str], ...]
#: RDNs in certificate (ASN.1) order, the reverse of the RFC 4514 string order (RFC 4514 §2.1).
DistinguishedName = tuple[RDN, ...]


class DNSyntaxError(ValueError):
    """The string is not an RFC 4514 distinguished name this module accepts."""


def prepare_value(oid: str, value: str) -> str:
    """RFC 4518 §2 (simplified): NFKC, case fold and insignificant space handling for case-ignore types."""
    if oid not in _CASE_IGNORE_OIDS:
        return value
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return _SPACES.sub(" ", folded.strip(" "))


def _attribute_type(text: str) -> str:
    if _NUMERICOID.fullmatch(text):
        return text
    if _DESCR.fullmatch(text) and text.upper() in KNOWN_TYPES:
        return KNOWN_TYPES[text.upper()]
    raise DNSyntaxError(f"unknown attribute type {text[:40]!r}")


def _read_value(text: str, pos: int) -> tuple[str, int]:
    """RFC 4514 §3 ``string``: returns the unescaped value and the position of the next ``,``/``+`` or end."""
    if pos < len(text) and text[pos] == "#":
        raise DNSyntaxError("hex-encoded attribute values are not supported")
    out = bytearray()
    start = pos
    last_escaped = False
    while pos < len(text) and text[pos] not in ",+":
        ch = text[pos]
        if ch == "\\":
            nxt = text[pos + 1:pos + 3]
            if len(nxt) == 2 and all(c in "0123456789abcdefABCDEF" for c in nxt):
                out.append(int(nxt, 16))
                pos += 3
            elif nxt[:1] and nxt[0] in _SPECIAL:
                out += nxt[0].encode()
                pos += 2
            else:
                raise DNSyntaxError("bad escape in attribute value")
            last_escaped = True
            continue
        if ch in '";<>\x00' or (ch == " " and pos == start):
            raise DNSyntaxError(f"character {ch!r} must be escaped in an attribute value")
        out += ch.encode()
        last_escaped = False
        pos += 1
    if not out:
        raise DNSyntaxError("empty attribute value")
    if text[pos - 1] == " " and not last_escaped:
        raise DNSyntaxError("a trailing space must be escaped")
    try:
        return out.decode("utf-8"), pos
    except UnicodeDecodeError:
        raise DNSyntaxError("attribute value is not UTF-8") from None


def parse_dn(text: str) -> DistinguishedName:
    """RFC 4514 §3 string -> structure (in certificate order). Strict: no spaces around ``,``, ``+``, ``=``."""
    if not isinstance(text, str) or not 0 < len(text) <= _MAX_DN:
        raise DNSyntaxError("a distinguished name is a non-empty string of bounded length")
    rdns: list[RDN] = []
    pairs: list[tuple[str, str]] = []
    pos = 0
    while True:
        eq = text.find("=", pos)
        if eq < 0:
            raise DNSyntaxError("attribute without '='")
        oid = _attribute_type(text[pos:eq])
        value, pos = _read_value(text, eq + 1)
        pairs.append((oid, prepare_value(oid, value)))
        if pos == len(text) or text[pos] == ",":
            if len({o for o, _ in pairs}) != len(pairs):
                raise DNSyntaxError("an attribute type repeats within one RDN")
            rdns.append(tuple(sorted(pairs)))
            pairs = []
        if pos == len(text):
            break
        pos += 1
        if len(rdns) > _MAX_RDNS:
            raise DNSyntaxError("too many RDNs")
    return tuple(reversed(rdns))


def dn_of_name(name: x509.Name) -> DistinguishedName | None:
    """A certificate subject as the same structure; None if it holds a value we cannot compare as text."""
    rdns: list[RDN] = []
    for rdn in name.rdns:
        pairs = []
        for attr in rdn:
            if not isinstance(attr.value, str):
                return None
            oid = attr.oid.dotted_string
            pairs.append((oid, prepare_value(oid, attr.value)))
        rdns.append(tuple(sorted(pairs)))
    return tuple(rdns)
