"""Operator input, validated (pydantic, ``extra="forbid"``): the same models serve the admin API and the CLI.

Bounds on every field; identifiers are short and URL-safe; the software metadata is further checked by the very
parser relying parties run (``hardened.core.statement_claims``), so the authority never signs a statement a
hardened AS would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "ID_PATTERN",
    "KID_PATTERN",
    "InstanceIn",
    "OrganisationIn",
    "RevocationIn",
    "RotateIn",
    "SignIn",
    "SoftwareIn",
    "SuspendIn",
    "describe_errors",
]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:-]{0,127}$"
#: RFC 7638 thumbprints (our kids) and statement jtis are base64url.
KID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def _printable(value: str) -> str:
    """The same rule relying parties apply to statement strings (hardened.core.statement_claims)."""
    if not value.isprintable():
        raise ValueError("must be printable text (no control or invisible characters)")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_printable)]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


def describe_errors(errors: Sequence[Any]) -> str:
    """One line for an operator from pydantic's error list: where, and what is wrong (never the whole input)."""
    if not errors:
        return "invalid input"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "input"
    what = first.get("msg", "invalid value")
    if first.get("type") == "string_pattern_mismatch":
        what = "has characters that are not allowed"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    text = f"invalid {where}: {what}{more}"
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:300]


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class OrganisationIn(_Input):
    org_id: Identifier | None = None
    name: Text
    contacts: list[Text] = Field(default_factory=list, max_length=8)
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")] | None = None


class SuspendIn(_Input):
    reason: Text = "suspended by operator"


class SoftwareIn(_Input):
    """Software as the authority vets it; ``metadata()`` gives its statement claims in RFC 7591 names."""

    software_id: Identifier | None = None
    org_id: Identifier
    client_name: Text
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    software_version: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    redirect_uris: list[Uri] = Field(min_length=1, max_length=16)
    jwks: dict[str, Any] | None = None
    jwks_uri: Uri | None = None
    scope: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    token_endpoint_auth_method: Literal["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"] = (
        "private_key_jwt")  # noqa: S105
    grant_types: list[Literal["authorization_code", "refresh_token",
                              "urn:ietf:params:oauth:grant-type:token-exchange"]] = Field(
        default_factory=lambda: ["authorization_code"], min_length=1, max_length=3)
    hardened_tier: Literal["baseline", "hardened", "attested"] = "hardened"
    sender_constraint: Literal["dpop", "mtls"] = "dpop"
    #: RFC 8705 §2.1.2: with tls_client_auth, exactly one registered subject (the AS checks which)
    tls_client_auth_subject_dn: Text | None = None
    tls_client_auth_san_dns: Text | None = None
    tls_client_auth_san_uri: Uri | None = None
    tls_client_auth_san_ip: Text | None = None
    tls_client_auth_san_email: Text | None = None
    attestation_required: bool = False
    client_uri: Uri | None = None
    logo_uri: Uri | None = None
    policy_uri: Uri | None = None
    tos_uri: Uri | None = None
    contacts: list[Text] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _one_tls_subject(self) -> SoftwareIn:
        """RFC 8705 §2.1.2: at most one ``tls_client_auth_*`` subject, and only with ``tls_client_auth`` (the AS
        refuses a tls_client_auth registration without one; it may also be given at registration time)."""
        subjects = [n for n in type(self).model_fields if n.startswith("tls_client_auth_") and getattr(self, n)]
        method = self.token_endpoint_auth_method
        if len(subjects) > 1 or (subjects and method != "tls_client_auth"):
            raise ValueError("at most one tls_client_auth_* subject, and only with tls_client_auth")
        return self

    def metadata(self) -> dict[str, Any]:
        """The statement claims this software contributes (absent optional ones left out)."""
        skip = {"software_id", "org_id", "description"}
        out = {k: v for k, v in self.model_dump().items() if k not in skip and v is not None}
        if not out.get("contacts"):
            out.pop("contacts", None)
        return out


class SignIn(_Input):
    ttl: int | None = Field(default=None, ge=60, le=366 * 86_400)


class RevocationIn(_Input):
    kind: Literal["statement", "software", "organisation"]
    target: Identifier
    reason: Text = "revoked by operator"


class RotateIn(_Input):
    alg: Literal["PS256", "ES256", "EdDSA"] | None = None


class InstanceIn(_Input):
    """A software instance to vouch for: its id and its Client Instance Key (public JWK, the attestation's
    ``cnf.jwk``; draft-ietf-oauth-attestation-based-client-auth-10 §4)."""

    instance_id: Identifier | None = None
    jwk: dict[str, Any] = Field(max_length=16)
