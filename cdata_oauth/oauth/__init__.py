"""The OAuth operations: the operation registry, the flows (OAuth 1.0a, OAuth 2.0), token
responses, the loopback listener, the URL policy, and what an operation may use of its
connection (``context``).

Owns: every request to an authorization server. Knows nothing of SQL.
May import: transport, config and the base modules.
"""
