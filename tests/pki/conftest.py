"""A root and intermediate valid around the fixed test time (2026-01-01)."""

from __future__ import annotations

import datetime as dt

import pytest

from hardened.testing.mtls import FIXED_NOW
from pki.ca import CertificateAuthority

START = dt.datetime.fromtimestamp(FIXED_NOW, dt.UTC) - dt.timedelta(days=30)


@pytest.fixture(scope="session")
def root() -> CertificateAuthority:
    return CertificateAuthority.create_root("CN=Test Root,O=Example", not_before=START)


@pytest.fixture(scope="session")
def intermediate(root: CertificateAuthority) -> CertificateAuthority:
    return root.create_intermediate("CN=Test Issuing CA,O=Example", not_before=START)
