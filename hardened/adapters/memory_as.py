"""In-memory ``ASStore`` (tests, single process). One lock makes every method atomic."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hardened.core.par import VerifiedPARRequest
from hardened.ports.as_stores import (
    CODE_RETENTION,
    AuthorizationCode,
    ClientRecord,
    CodeRedemption,
    Interaction,
    PushedRequest,
    TokenRecord,
    User,
)

__all__ = ["MemoryASStore"]


class MemoryASStore:
    """Dictionaries behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, ClientRecord] = {}
        self._statement_jtis: dict[str, float] = {}
        self._requests: dict[str, PushedRequest] = {}
        self._interactions: dict[str, Interaction] = {}
        self._codes: dict[str, tuple[AuthorizationCode, bool]] = {}
        self._tokens: dict[str, TokenRecord] = {}
        self._revoked_grants: set[str] = set()
        self._consents: dict[tuple[str, str], tuple[str, ...]] = {}
        self._users: dict[str, User] = {}
        self._failures: dict[str, int] = {}
        self._account_failures: dict[str, tuple[int, float]] = {}  # account -> (failures, window end)

    # clients
    def _spend_jti(self, jti: str | None, exp: float) -> bool:
        if jti is None:
            return True
        if jti in self._statement_jtis:
            return False
        self._statement_jtis[jti] = exp
        return True

    def add_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool:
        with self._lock:
            if record.client_id in self._clients or not self._spend_jti(statement_jti, statement_exp):
                return False
            self._clients[record.client_id] = record
            return True

    def get_client(self, client_id: str) -> ClientRecord | None:
        with self._lock:
            return self._clients.get(client_id)

    def replace_client(self, record: ClientRecord, *, statement_jti: str | None, statement_exp: float) -> bool:
        with self._lock:
            if record.client_id not in self._clients or not self._spend_jti(statement_jti, statement_exp):
                return False
            self._clients[record.client_id] = record
            return True

    def delete_client(self, client_id: str) -> bool:
        with self._lock:
            if self._clients.pop(client_id, None) is None:
                return False
            for key, token in list(self._tokens.items()):
                if token.client_id == client_id:
                    self._tokens[key] = replace(token, revoked=True)
                    self._revoked_grants.add(token.grant_id)
            for key in [k for k in self._consents if k[1] == client_id]:
                del self._consents[key]
            for key in [k for k, (c, _) in self._codes.items() if c.request.client_id == client_id]:
                self._revoked_grants.add(self._codes[key][0].grant_id)
                del self._codes[key]
            for key in [k for k, r in self._requests.items() if r.request.client_id == client_id]:
                del self._requests[key]
            return True

    # pushed requests
    def put_request(self, pushed: PushedRequest) -> None:
        with self._lock:
            self._requests[pushed.request_uri] = pushed

    def take_request(self, request_uri: str, client_id: str, now: float) -> VerifiedPARRequest | None:
        with self._lock:
            pushed = self._requests.get(request_uri)
            if pushed is None or pushed.request.client_id != client_id:
                return None
            del self._requests[request_uri]
            return pushed.request if now < pushed.expires_at else None

    # interactions
    def put_interaction(self, interaction: Interaction) -> None:
        with self._lock:
            self._interactions[interaction.interaction_id] = interaction

    def get_interaction(self, interaction_id: str, now: float) -> Interaction | None:
        with self._lock:
            found = self._interactions.get(interaction_id)
            return found if found is not None and now < found.expires_at else None

    def set_interaction_subject(self, interaction_id: str, subject: str, claims: Mapping[str, Any]) -> bool:
        with self._lock:
            found = self._interactions.get(interaction_id)
            if found is None:
                return False
            self._interactions[interaction_id] = replace(found, subject=subject, claims=dict(claims))
            return True

    def take_interaction(self, interaction_id: str, now: float) -> Interaction | None:
        with self._lock:
            found = self._interactions.pop(interaction_id, None)
            self._failures.pop(interaction_id, None)
            return found if found is not None and now < found.expires_at else None

    def count_login_failure(self, interaction_id: str) -> int:
        with self._lock:
            if interaction_id not in self._interactions:
                return 0
            self._failures[interaction_id] = self._failures.get(interaction_id, 0) + 1
            return self._failures[interaction_id]

    def record_account_failure(self, account: str, now: float, window: float) -> int:
        with self._lock:
            failures, until = self._account_failures.get(account, (0, now))
            failures, until = (failures + 1, until) if now < until else (1, now + window)
            self._account_failures[account] = (failures, until)
            return failures

    def account_failures(self, account: str, now: float) -> int:
        with self._lock:
            failures, until = self._account_failures.get(account, (0, now))
            return failures if now < until else 0

    def clear_account_failures(self, account: str) -> None:
        with self._lock:
            self._account_failures.pop(account, None)

    # codes
    def put_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code_hash] = (code, False)

    def get_code(self, code_hash: str) -> CodeRedemption | None:
        with self._lock:
            found = self._codes.get(code_hash)
            return None if found is None else CodeRedemption(code=found[0], first_use=not found[1])

    def redeem_code(self, code_hash: str, tokens: Sequence[TokenRecord]) -> bool:
        with self._lock:
            found = self._codes.get(code_hash)
            if found is None or found[1]:
                return False
            self._codes[code_hash] = (found[0], True)
            if any(t.grant_id in self._revoked_grants for t in tokens):
                return False
            self._tokens.update({t.token_hash: t for t in tokens})
            return True

    # tokens
    def put_tokens(self, records: Sequence[TokenRecord]) -> bool:
        with self._lock:
            if any(r.grant_id in self._revoked_grants for r in records):
                return False
            self._tokens.update({r.token_hash: r for r in records})
            return True

    def get_token(self, token_hash: str) -> TokenRecord | None:
        with self._lock:
            return self._tokens.get(token_hash)

    def revoke_token(self, token_hash: str) -> bool:
        with self._lock:
            found = self._tokens.get(token_hash)
            if found is None or found.revoked:
                return False
            self._tokens[token_hash] = replace(found, revoked=True)
            return True

    def revoke_grant(self, grant_id: str) -> int:
        with self._lock:
            self._revoked_grants.add(grant_id)
            hits = [k for k, t in self._tokens.items() if t.grant_id == grant_id and not t.revoked]
            for key in hits:
                self._tokens[key] = replace(self._tokens[key], revoked=True)
            return len(hits)

    def purge_expired(self, now: float) -> int:
        with self._lock:
            tables: list[tuple[dict[str, Any], Any]] = [
                (self._requests, lambda r: r.expires_at <= now),
                (self._interactions, lambda i: i.expires_at <= now),
                (self._codes, lambda c: c[0].expires_at + CODE_RETENTION <= now),
                (self._tokens, lambda t: t.expires_at <= now),
                (self._statement_jtis, lambda exp: exp + CODE_RETENTION <= now),
                (self._account_failures, lambda f: f[1] <= now),
            ]
            gone = 0
            for table, expired in tables:
                for key in [k for k, v in table.items() if expired(v)]:
                    del table[key]
                    self._failures.pop(key, None)
                    gone += 1
            return gone

    # consents and users
    def put_consent(self, subject: str, client_id: str, scopes: Sequence[str]) -> None:
        with self._lock:
            self._consents[(subject, client_id)] = tuple(scopes)

    def get_consent(self, subject: str, client_id: str) -> tuple[str, ...]:
        with self._lock:
            return self._consents.get((subject, client_id), ())

    def put_user(self, user: User) -> None:
        with self._lock:
            self._users[user.username] = user

    def get_user(self, username: str) -> User | None:
        with self._lock:
            return self._users.get(username)
