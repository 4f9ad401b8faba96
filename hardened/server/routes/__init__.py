"""Routes of the authorization server, one module per endpoint (RFC 8414 names)."""
