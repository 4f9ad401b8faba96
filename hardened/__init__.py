"""hardened: high-assurance OAuth for AI agents calling MCP servers."""

__version__ = "0.1.0"
