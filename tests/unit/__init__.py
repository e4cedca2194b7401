"""Unit tests: no servers, no subprocesses of other programs; each runs in milliseconds."""
