"""The upstream trades API (FastAPI): what the reference MCP server's tools call with exchanged tokens.

Every request needs ``Authorization: DPoP <at+jwt>`` from the AS (RFC 9068, validated by
:func:`~hardened.mcp.upstream_token.verify_upstream_token`) and a DPoP proof by the key the token is bound to
(RFC 9449 §7.1, ``ath`` included, ``htu`` against this API's configured URL). Data is filtered by the user claims
the token carries (``tenant``, ``country``, ``role``, see :mod:`hardened.mcp.trades`).

- ``GET /trades[?symbol=]``: scope ``trades:read``;
- ``POST /trades`` (JSON order): scope ``trades:write``, role ``trader`` or ``admin``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from hardened.clock import Clock, SystemClock
from hardened.errors import AccessDenied, InsufficientScope, InvalidRequest, InvalidToken, OAuthError
from hardened.jose import KeySet
from hardened.mcp.guard import ProofCheck
from hardened.mcp.trades import WRITERS, TradeStore, UserClaims
from hardened.mcp.upstream_token import UpstreamTokenPolicy, VerifiedUpstreamToken, verify_upstream_token
from hardened.web.errors import install_error_handlers, oauth_error_response, resource_error_response

__all__ = ["Order", "UpstreamConfig", "build_upstream_app"]

_SYMBOL = r"^[A-Z0-9.]{1,12}$"


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(pattern=_SYMBOL)
    side: Literal["buy", "sell"]
    quantity: int = Field(gt=0, le=1_000_000)
    price: float = Field(gt=0, le=10_000_000)


@dataclass(frozen=True)
class UpstreamConfig:
    url: str  # external base URL of this API (the proof check compares htu with it, never with Host)
    token_policy: UpstreamTokenPolicy
    keys: Callable[[], Awaitable[KeySet]]
    proof_check: ProofCheck | None
    store: TradeStore
    clock: Clock = field(default_factory=SystemClock)


class _Refused(Exception):
    def __init__(self, err: OAuthError) -> None:
        super().__init__(err.error)
        self.err = err


def _caller(config: UpstreamConfig, scope: str) -> Callable[[Request], Awaitable[tuple[VerifiedUpstreamToken,
                                                                                       UserClaims]]]:
    async def dependency(request: Request) -> tuple[VerifiedUpstreamToken, UserClaims]:
        try:
            return await _authenticate(config, request, scope)
        except OAuthError as err:
            raise _Refused(err) from None

    return dependency


async def _authenticate(config: UpstreamConfig, request: Request, scope: str) -> tuple[VerifiedUpstreamToken,
                                                                                       UserClaims]:
    values = request.headers.getlist("authorization")
    if len(values) != 1:
        raise InvalidToken("exactly one Authorization header with a DPoP-bound token is required")
    scheme, _, token = values[0].partition(" ")
    if scheme.lower() != "dpop" or not token or len(token) > 8192:
        raise InvalidToken("a DPoP-bound access token is required", detail=f"scheme {scheme[:10]}")
    verified = verify_upstream_token(token.strip(), policy=config.token_policy, keys=await config.keys(),
                                     now=config.clock.now())
    if config.proof_check is None:
        raise InvalidToken("DPoP-bound tokens cannot be checked here", detail="DPoP check not configured")
    config.proof_check(request.scope, access_token=token.strip(), jkt=verified.jkt)
    if scope not in verified.scopes:
        raise InsufficientScope(f"this request needs the scope {scope}")
    user = UserClaims.from_claims(verified.claims)
    if user is None:
        raise AccessDenied("the token carries no usable user claims (tenant, country, role)")
    return verified, user


def build_upstream_app(config: UpstreamConfig) -> FastAPI:
    app = FastAPI(title="hardened trades API", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)

    async def on_refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Refused)
        err = exc.err
        if isinstance(err, AccessDenied | InvalidRequest):
            return oauth_error_response(err)
        scope = "trades:write" if isinstance(err, InsufficientScope) else None
        return resource_error_response(err, schemes=("DPoP",), scope=scope,
                                       algs=" ".join(config.token_policy.algorithms))

    app.add_exception_handler(_Refused, on_refused)
    read_access = Depends(_caller(config, "trades:read"))
    write_access = Depends(_caller(config, "trades:write"))

    @app.get("/trades")
    async def list_trades(caller: tuple[VerifiedUpstreamToken, UserClaims] = read_access,
                          symbol: str | None = Query(default=None, pattern=_SYMBOL)) -> dict:
        _, user = caller
        return {"trades": config.store.visible(user, symbol=symbol)}

    @app.post("/trades", status_code=201)
    async def place_trade(order: Order, caller: tuple[VerifiedUpstreamToken, UserClaims] = write_access) -> dict:
        token, user = caller
        if user.role not in WRITERS:
            raise _Refused(AccessDenied("this user may not place trades"))
        trade = config.store.place(user, symbol=order.symbol, side=order.side, quantity=order.quantity,
                                   price=order.price, now=config.clock.now())
        return {"trade": trade, "actor": token.actor, "client_id": token.client_id}

    return app
