"""Fixtures for the embedded_provider test server (filled in by its issue)."""
