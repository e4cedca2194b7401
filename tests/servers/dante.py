"""Fixtures for the dante test server (filled in by its issue)."""
