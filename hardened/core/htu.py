"""The DPoP ``htu`` comparison (RFC 9449 §4.3 step 9): RFC 3986 §6.2.2 and §6.2.3 normalisation of HTTP URIs.

``normalize_htu`` returns one canonical form for every URI that RFC 3986 calls equivalent, and refuses anything
that is not an absolute ``http``/``https`` URI. Steps, numbered as RFC 3986 §6.2.2-6.2.3:

1. §6.2.2.1 case: scheme and host lowercased; hex digits of percent-encodings uppercased;
2. §6.2.2.2 percent-encoding: octets of unreserved characters decoded (``%7E`` -> ``~``, ``%41`` -> ``A``);
3. §6.2.2.3 path segments: ``.`` and ``..`` removed (RFC 3986 §5.2.4);
4. §6.2.3 scheme-based: an empty or default port (80 for http, 443 for https) dropped; an empty path becomes ``/``;
5. RFC 9449 §4.3 step 9: query and fragment are not part of ``htu``: both are stripped.

User information (``user@host``) is refused: RFC 9110 §4.2.4 deprecates it and it only serves to confuse.
"""

from __future__ import annotations

import ipaddress
import re

from hardened.errors import InvalidDPoPProof

__all__ = ["MAX_HTU", "is_loopback_host", "join_base_and_path", "normalize_htu"]

#: The longest URI accepted anywhere as ``htu`` (before normalisation).
MAX_HTU = 2048
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# RFC 3986 §2.3 unreserved, §2.2 sub-delims; pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_URI = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?P<path>[^?#]*)(?:\?[^#]*)?(?:#.*)?", re.DOTALL
)
_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_IP_LITERAL = re.compile(r"\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\]")
_PORT = re.compile(r"[0-9]{0,5}")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
# Visible US-ASCII only (RFC 3986 §2): no spaces, controls or non-ASCII anywhere in the URI.
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _bad(description: str) -> InvalidDPoPProof:
    return InvalidDPoPProof(description, detail="DPOP_HTU_INVALID")


def _normalize_pct(text: str) -> str:
    """RFC 3986 §6.2.2.1-2: decode unreserved octets, uppercase the hex digits of all other percent-encodings."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PCT.sub(one, text) if "%" in text else text


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, on an absolute path (it starts with ``/``)."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _host(host: str) -> str:
    if _IP_LITERAL.fullmatch(host):
        return host.lower()
    if not _REG_NAME.fullmatch(host):
        raise _bad("htu host is not a valid host")
    # Decode unreserved octets first, then lowercase (§6.2.2.1); re-uppercase remaining percent hex digits.
    return _normalize_pct(_normalize_pct(host).lower())


def _authority(scheme: str, authority: str) -> str:
    if "@" in authority:
        raise _bad("htu must not contain user information")
    host, port = authority, ""
    if authority.startswith("["):
        end = authority.find("]")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise _bad("htu host is not a valid IP literal")
        port = rest[1:]
    elif ":" in authority:
        host, port = authority.rsplit(":", 1)
    if not host:
        raise _bad("htu has no host")
    if not _PORT.fullmatch(port) or (port and int(port) > 65535):
        raise _bad("htu port is not a valid port")
    port = str(int(port)) if port else ""
    host = _host(host)
    return host if port in ("", _DEFAULT_PORTS[scheme]) else f"{host}:{port}"


#: Normal forms already computed, keyed by the exact URI text (only URIs that passed every check get here).
_NORMAL: dict[str, str] = {}
_NORMAL_SIZE = 1024


def normalize_htu(uri: object) -> str:
    """The RFC 3986 §6.2.2-6.2.3 normal form of an http(s) URI, without query and fragment; or InvalidDPoPProof."""
    if uri.__class__ is str:
        known = _NORMAL.get(uri)  # type: ignore[call-overload]
        if known is not None:
            return known
    if not isinstance(uri, str) or not uri or len(uri) > MAX_HTU or not _VISIBLE_ASCII.fullmatch(uri):
        raise _bad("htu is not a URI of visible ASCII characters within the size limit")
    normal = _normalize(uri)
    if uri.__class__ is str:
        if len(_NORMAL) >= _NORMAL_SIZE:
            _NORMAL.clear()  # bounded; single dict operations are atomic under the GIL
        _NORMAL[uri] = normal
    return normal


def _normalize(uri: str) -> str:
    match = _URI.fullmatch(uri)
    if match is None:
        raise _bad("htu is not an absolute URI with an authority")
    scheme = match["scheme"].lower()
    if scheme not in _DEFAULT_PORTS:
        raise _bad("htu scheme is not http or https")
    path = match["path"]
    if not _PATH.fullmatch(path):
        raise _bad("htu path has characters that need percent-encoding")
    authority = _authority(scheme, match["authority"])
    path = _remove_dot_segments(_normalize_pct(path)) if path else "/"
    return f"{scheme}://{authority}{path}"


def join_base_and_path(base_url: str, path: str) -> str:
    """The request URI from a configured external base URL (scheme, authority, optional prefix) and a request path.

    The base URL is configuration, never the ``Host`` or ``X-Forwarded-*`` headers of a request (RFC 9449 §4.3
    step 9 compares against the URI the server really serves). A path with dot segments (also percent-encoded,
    ``/a/%2E%2E/b``) is refused: the application routes on the path as received, while ``htu`` is compared after
    RFC 3986 §5.2.4 removal, so a proof for ``/b`` would be accepted by whatever serves ``/a/{path}``.
    """
    base = normalize_htu(base_url).rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    decoded = _normalize_pct(path)
    if _remove_dot_segments(decoded) != decoded:
        raise InvalidDPoPProof("the request path has dot segments", detail="DPOP_PATH_DOT_SEGMENTS")
    return normalize_htu(base + path)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``, brackets optional): the only hosts
    where plain ``http`` is tolerated (RFC 8252 §8.3; FAPI 2.0 SP §5.2.1 requires TLS everywhere else)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host).is_loopback
    except ValueError:
        return False
