"""The authority: a third-party service that vets AI-agent software and signs its software statements (RFC 7591
§2.3), publishes its keys, statement status and a signed status list, and keeps an append-only audit log.

Modules: ``records`` (registry records), ``store`` (the registry port and its SQLite adapter), ``audit`` (hash
chain), ``policy`` (operator-set limits), ``claims`` (statement claims), ``signing`` (key files and JWS),
``service`` (the operations, shared by the CLI and the API), ``app`` (FastAPI), ``cli`` (the ``authority`` command).
The authority acting as Client Attester (docs/attester.md): ``instances`` (instance registry, client bindings,
attester keys), ``attester`` (registration, revocation, issuance), ``attester_app`` (its HTTP routes).
"""
