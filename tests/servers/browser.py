"""Fixtures for the browser test server (filled in by its issue)."""
