"""The ``token68`` syntax (RFC 9110 §11.2): DPoP and Bearer access tokens (RFC 9449 §7.1, RFC 6750 §2.1) and the
client attestation headers (draft-ietf-oauth-attestation-based-client-auth-10 §4, §5.1)."""

from __future__ import annotations

import re

__all__ = ["TOKEN68"]

#: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
