"""The OAuth operations: registry, the flows (OAuth 1.0a, 2.0), token responses, loopback listener and URL policy."""
