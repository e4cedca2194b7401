"""Fixtures for the squid test server (filled in by its issue)."""
