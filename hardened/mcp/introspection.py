"""Phantom tokens: resolving an opaque access token by RFC 7662 introspection with a signed RFC 9701 response.

``verify_introspection_response`` is the pure check (RFC 9701 §5, RFC 7662 §2.2): the JWT has
``typ: token-introspection+jwt``, is signed by one of the AS's keys, names the AS as ``iss`` and this resource
server as ``aud``, is fresh (``iat``), and carries a ``token_introspection`` object that is ``active`` with a
future ``exp``, this resource in its ``aud``, and at most one binding (``cnf.jkt`` or ``cnf.x5t#S256``).

``Introspector`` does the I/O around it: one POST per unknown token, then a bounded cache keyed by the SHA-256 of
the token until the token's expiry (capped by ``max_ttl``, so a revocation is seen within that bound), and a
short negative cache for inactive tokens. Failures to reach or verify the AS are never cached.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from hardened.clock import Clock, SystemClock
from hardened.errors import InvalidToken, JoseError
from hardened.jose import ClaimsPolicy, JWSPolicy, JWTPolicy, KeySet, Typ, numeric_date, verify_jwt
from hardened.mcp.policy import TIERS

__all__ = [
    "IntrospectedToken", "IntrospectionPolicy", "Introspector", "KeySource", "token_hash",
    "verify_introspection_response",
]

#: RFC 7662 §2.2 members that are not user claims.
_REGISTERED = frozenset({"active", "scope", "client_id", "username", "token_type", "exp", "iat", "nbf", "sub", "aud",
                         "iss", "jti", "cnf", "tier", "act"})
MAX_TOKEN = 4096
MAX_SCOPES = 64


def token_hash(token: str) -> str:
    """The cache key of a token: its SHA-256, so that no token is ever held as a key."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class IntrospectionPolicy:
    """What this resource server expects of introspection responses from its AS."""

    issuer: str
    audience: str  # this resource server's client id at the AS (RFC 9701 §5 ``aud``)
    resource: str  # the resource the token must be for (RFC 8707 ``aud`` of the token)
    max_age: float = 60.0
    algorithms: tuple[str, ...] = ("PS256", "ES256", "EdDSA")


@dataclass(frozen=True, slots=True)
class IntrospectedToken:
    """An active token as the AS described it."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float
    subject: str | None
    tier: str
    jkt: str | None
    x5t: str | None
    claims: Mapping[str, Any] = field(default_factory=dict)


def _invalid(detail: str) -> InvalidToken:
    return InvalidToken("the access token is not valid for this resource", detail=detail)


def _scopes(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, str) or len(value) > 4096:
        raise _invalid("introspection scope is not a string")
    tokens = [s for s in value.split(" ") if s]
    if len(tokens) > MAX_SCOPES:
        raise _invalid("introspection scope has too many values")
    return frozenset(tokens)


def _binding(cnf: Any) -> tuple[str | None, str | None]:
    """RFC 7800 §3.1 ``cnf``: one of ``jkt`` (RFC 9449 §6.1) or ``x5t#S256`` (RFC 8705 §3.1), never both."""
    if cnf is None:
        return None, None
    if not isinstance(cnf, dict):
        raise _invalid("cnf is not an object")
    jkt, x5t = cnf.get("jkt"), cnf.get("x5t#S256")
    if jkt is not None and x5t is not None:
        raise _invalid("cnf carries two bindings")
    for value in (jkt, x5t):
        if value is not None and (not isinstance(value, str) or not 20 <= len(value) <= 128):
            raise _invalid("cnf member is not a thumbprint")
    if jkt is None and x5t is None:
        raise _invalid("cnf carries no known binding")
    return jkt, x5t


def _audience_ok(aud: Any, resource: str) -> bool:
    if isinstance(aud, str):
        return aud == resource
    return isinstance(aud, list) and 0 < len(aud) <= 16 and resource in aud and all(isinstance(a, str) for a in aud)


def verify_introspection_response(
    response_jwt: Any, *, policy: IntrospectionPolicy, keys: KeySet, now: float
) -> IntrospectedToken:
    """RFC 9701 §5 + RFC 7662 §2.2: an active token for this resource, or ``InvalidToken``."""
    jwt_policy = JWTPolicy(
        jws=JWSPolicy(typ=Typ.INTROSPECTION, algorithms=policy.algorithms, max_token=16384, max_payload=12288),
        claims=ClaimsPolicy(issuer=policy.issuer, audience=policy.audience, require_exp=False,
                            max_age=policy.max_age),
    )
    try:
        claims = verify_jwt(response_jwt, policy=jwt_policy, keys=keys, now=now).claims
    except JoseError as err:
        raise _invalid(f"introspection response: {err.code}") from None
    info = claims.get("token_introspection")
    if not isinstance(info, dict):
        raise _invalid("token_introspection is missing")
    # RFC 7662 §2.2: ``active`` is a JSON boolean; anything but true means inactive.
    if info.get("active") is not True:
        raise InvalidToken("the access token is not active", detail="inactive")
    try:
        exp = numeric_date(info, "exp", required=True)
    except JoseError:
        raise _invalid("token exp is missing or malformed") from None
    assert exp is not None
    if now >= exp:
        raise InvalidToken("the access token has expired", detail="expired")
    if info.get("iss") is not None and info["iss"] != policy.issuer:
        raise _invalid("token iss is another issuer")
    if not _audience_ok(info.get("aud"), policy.resource):
        raise _invalid("token audience is another resource")
    client_id = info.get("client_id")
    if not isinstance(client_id, str) or not client_id or len(client_id) > 256:
        raise _invalid("token client_id is missing")
    subject = info.get("sub")
    if subject is not None and (not isinstance(subject, str) or len(subject) > 256):
        raise _invalid("token sub is malformed")
    jkt, x5t = _binding(info.get("cnf"))
    # The AS's ``tier`` wins; without one, a sender-constrained token counts as hardened (DESIGN §2: only hardened
    # clients hold bound tokens for scopes above baseline) and an unbound one as baseline.
    tier = info.get("tier", "hardened" if (jkt or x5t) else "baseline")
    if tier not in TIERS:
        raise _invalid("token tier is unknown")
    extra = {k: v for k, v in info.items() if k not in _REGISTERED}
    return IntrospectedToken(client_id=client_id, scopes=_scopes(info.get("scope")), expires_at=exp,
                             subject=subject, tier=tier, jkt=jkt, x5t=x5t, claims=extra)


class KeySource(Protocol):
    """The AS's current signing keys (its JWKS); ``refresh`` refetches them, returning False when rate-limited."""

    async def get(self) -> KeySet: ...

    async def refresh(self) -> bool: ...


class _BoundedCache:
    """An LRU map of ``key -> (value, until)``; expired entries are dropped when read."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[str, tuple[Any, float]] = OrderedDict()

    def get(self, key: str, now: float) -> Any | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if now >= hit[1]:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return hit[0]

    def put(self, key: str, value: Any, until: float) -> None:
        self._data[key] = (value, until)
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


#: Supplies the form fields that authenticate this resource server at the AS (RFC 7662 §2.1), e.g. a
#: ``private_key_jwt`` assertion for the introspection endpoint.
ClientAuthentication = Callable[[str], Mapping[str, str] | Awaitable[Mapping[str, str]]]


class Introspector:
    """Resolve opaque tokens at the AS introspection endpoint (RFC 7662 §2.1, RFC 9701 §4), with caches."""

    def __init__(
        self,
        *,
        endpoint: str,
        policy: IntrospectionPolicy,
        keys: KeySource,
        http: httpx.AsyncClient,
        client_auth: ClientAuthentication,
        clock: Clock | None = None,
        max_ttl: float = 60.0,
        negative_ttl: float = 5.0,
        size: int = 10_000,
    ) -> None:
        self.endpoint, self.policy, self._keys, self._http = endpoint, policy, keys, http
        self._client_auth = client_auth
        self.clock = clock or SystemClock()
        self.max_ttl, self.negative_ttl = max_ttl, negative_ttl
        self._positive = _BoundedCache(size)
        self._negative = _BoundedCache(size)
        self.fetches = 0

    async def introspect(self, token: str) -> IntrospectedToken:
        """The active token, from cache or from the AS; ``InvalidToken`` otherwise."""
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN:
            raise _invalid("token length")
        key, now = token_hash(token), self.clock.now()
        hit = self._positive.get(key, now)
        if hit is not None:
            if now >= hit.expires_at:
                raise InvalidToken("the access token has expired", detail="expired")
            return hit
        refused = self._negative.get(key, now)
        if refused is not None:
            raise InvalidToken("the access token is not active", detail=f"cached: {refused}")
        response_jwt = await self._fetch(token)
        now = self.clock.now()
        try:
            result = await self._verify(response_jwt, now)
        except InvalidToken as err:
            if err.detail in ("inactive", "expired", "token audience is another resource"):
                self._negative.put(key, err.detail, now + self.negative_ttl)
            raise
        self._positive.put(key, result, min(result.expires_at, now + self.max_ttl))
        return result

    async def _verify(self, response_jwt: str, now: float) -> IntrospectedToken:
        try:
            return verify_introspection_response(response_jwt, policy=self.policy, keys=await self._keys.get(), now=now)
        except InvalidToken as err:
            if "ERR_JWK_NOT_FOUND" not in err.detail or not await self._keys.refresh():
                raise
        # RFC 7517 §5: the AS rotated its keys; one bounded refetch of its JWKS, then verify again.
        return verify_introspection_response(response_jwt, policy=self.policy, keys=await self._keys.get(), now=now)

    async def _fetch(self, token: str) -> str:
        auth = self._client_auth(self.endpoint)
        fields = dict(await auth if isinstance(auth, Awaitable) else auth)
        self.fetches += 1
        try:
            response = await self._http.post(
                self.endpoint,
                data={**fields, "token": token, "token_type_hint": "access_token"},
                headers={"Accept": "application/token-introspection+jwt"},
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise _invalid(f"introspection failed: {type(exc).__name__}") from None
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code != 200 or content_type != "application/token-introspection+jwt":
            raise _invalid(f"introspection answered HTTP {response.status_code} {content_type[:60]}")
        if len(response.content) > 16384:
            raise _invalid("introspection response too large")
        return response.text.strip()
