"""pki: a small X.509 certificate authority for mutual TLS (RFC 5280, RFC 8705).

- ``pki.profiles``: key types and leaf profiles (agent, server, proxy).
- ``pki.ca``: root, intermediate, leaf and self-signed certificates; PEM files.
- ``pki.verify``: path validation with ``cryptography.x509.verification``, trust anchors, ``inspect``.
- ``pki.cli``: the ``pki`` console script (``init``, ``issue``, ``inspect``). See docs/pki.md.
"""
