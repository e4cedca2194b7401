"""The token lifecycle of a connection, the token stores and BearerAuth."""
