"""Deployment settings with FAPI 2.0 Security Profile defaults (FAPI 2.0 SP §5.3.2.1, §5.3.1.2, §5.2.2).

Policies are frozen pydantic models; change one with ``model_copy(update=...)``. Values that would weaken the
profile beyond what a specification allows are refused when the settings are built (start-up), never at request
time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ALLOWED_ALGORITHMS", "Settings", "TimePolicy"]

#: FAPI 2.0 SP §5.4.1: PS256, ES256 or EdDSA (Ed25519) only. Never RS256, never HMAC, never ``none``.
ALLOWED_ALGORITHMS: tuple[str, ...] = ("PS256", "ES256", "EdDSA")


class TimePolicy(BaseModel):
    """FAPI 2.0 SP §5.3.2.1 (clock skew): accept ``iat``/``nbf`` up to 10 s in the future, reject beyond 60 s.

    ``max_future_skew`` may be set between 0 and 60 seconds; the default is the 10 s FAPI names.
    ``max_age`` bounds how old an ``iat`` may be for one-shot JWTs (proofs, assertions).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_future_skew: float = Field(default=10.0, ge=0, le=60)
    max_age: float = Field(default=60.0, gt=0, le=3600)


class Settings(BaseSettings):
    """Process-wide settings, read from ``HARDENED_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="HARDENED_", frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    algorithms: tuple[str, ...] = ALLOWED_ALGORITHMS
    time: TimePolicy = TimePolicy()

    @field_validator("algorithms")
    @classmethod
    def _only_fapi_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one signing algorithm is required")
        bad = [a for a in value if a not in ALLOWED_ALGORITHMS]
        if bad:
            raise ValueError(f"algorithms {bad} are not allowed; choose from {list(ALLOWED_ALGORITHMS)}")
        return value
