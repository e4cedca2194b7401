"""Fixtures for the tls test server (filled in by its issue)."""
