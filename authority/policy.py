"""The authority's operating policy: statement lifetimes, signing algorithm, publication freshness (HP-AUTH).

A frozen pydantic model with safe defaults; a value outside its bounds is refused when the policy is built
(start-up), never at request time. Stored in the data folder at ``authority init``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DAY", "AuthorityPolicy"]

DAY = 86_400


class AuthorityPolicy(BaseModel):
    """Limits the authority applies when it signs and publishes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Algorithm of new signing keys (FAPI 2.0 SP §5.4.1).
    alg: str = Field(default="ES256", pattern="^(PS256|ES256|EdDSA)$")
    #: Statement lifetime when ``sign`` is not given ``--ttl`` (seconds).
    default_ttl: int = Field(default=30 * DAY, ge=60, le=366 * DAY)
    #: The longest lifetime ``sign --ttl`` may ask for; relying parties refuse longer ones (HP-SS max_lifetime).
    max_ttl: int = Field(default=366 * DAY, ge=60, le=366 * DAY)
    #: ``Cache-Control: max-age`` and ``ttl`` of the status list and the status endpoint (seconds).
    status_max_age: int = Field(default=300, ge=0, le=3600)
    #: ``exp - iat`` of each signed status list (seconds).
    status_list_lifetime: int = Field(default=3600, ge=60, le=86_400)
    #: ``Cache-Control: max-age`` of the JWKS and the authority configuration (seconds).
    jwks_max_age: int = Field(default=300, ge=0, le=86_400)
    #: ``exp - iat`` of the Client Attestation JWTs the authority issues as attester (seconds; HP-ATT-21).
    attestation_lifetime: int = Field(default=600, ge=60, le=3600)

    @model_validator(mode="after")
    def _default_within_max(self) -> AuthorityPolicy:
        if self.default_ttl > self.max_ttl:
            raise ValueError("default_ttl must not exceed max_ttl")
        return self
