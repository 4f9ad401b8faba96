"""Certificates for the mTLS tests: a CA valid around the fixed test time, and one valid around the wall clock
(for real TLS handshakes, where OpenSSL checks validity against the real time)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from pki.ca import CertificateAuthority, IssuedCertificate, SubjectAltNames, self_signed_certificate

AGENT_SANS = SubjectAltNames(uri=("https://agents.example/a1",), dns=("a1.agents.example",), ip=("10.1.2.3",),
                             email=("Ops@Agents.Example",))


@dataclass
class LivePKI:
    """Files for real TLS: trust anchors, a server certificate for 127.0.0.1 and client certificates by case."""

    directory: Path
    root: CertificateAuthority
    intermediate: CertificateAuthority
    certs: dict[str, IssuedCertificate]
    paths: dict[str, dict[str, Path]]

    @property
    def anchors_file(self) -> Path:
        return self.directory / "root.pem"


@pytest.fixture(scope="session")
def live_pki(tmp_path_factory: pytest.TempPathFactory) -> LivePKI:
    directory = tmp_path_factory.mktemp("live-pki")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(days=1)
    root = CertificateAuthority.create_root("CN=Live Root,O=Example", not_before=start)
    inter = root.create_intermediate("CN=Live Issuing CA,O=Example", not_before=start)
    root.save(directory, "root")
    stranger = CertificateAuthority.create_root("CN=Live Root,O=Example", not_before=start)
    certs = {
        "server": inter.issue("server", "CN=localhost", sans=SubjectAltNames(dns=("localhost",), ip=("127.0.0.1",)),
                              not_before=start),
        "proxy": inter.issue("proxy", "CN=proxy", sans=SubjectAltNames(dns=("localhost",), ip=("127.0.0.1",)),
                             not_before=start),
        "good": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start),
        "expired": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start, days=0.5),
        "future": inter.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS,
                              not_before=now + dt.timedelta(days=2)),
        "wrong_eku": inter.issue("server", "CN=agent-1,O=Example", sans=SubjectAltNames(dns=("a1.agents.example",)),
                                 not_before=start),
        "untrusted": stranger.issue("agent", "CN=agent-1,O=Example", sans=AGENT_SANS, not_before=start),
        "reordered": inter.issue("agent", "O=Example,CN=agent-1", sans=AGENT_SANS, not_before=start),
        "other_san": inter.issue("agent", "CN=agent-1,O=Example",
                                 sans=SubjectAltNames(uri=("https://agents.example/a2",)), not_before=start),
        "self_signed": self_signed_certificate("CN=self-1", sans=SubjectAltNames(dns=("self.example",)),
                                               not_before=start),
        "self_signed_other": self_signed_certificate("CN=self-2", sans=SubjectAltNames(dns=("self.example",)),
                                                     not_before=start),
    }
    paths = {name: issued.write(directory, name) for name, issued in certs.items()}
    return LivePKI(directory, root, inter, certs, paths)
