"""An embedded OAuth 2.0 authorization server on 127.0.0.1, built on oauthlib's server
endpoints: it serves ``cdata-oauth demo``, the tests and the benchmarks.

    >>> from cdata_oauth.provider import EmbeddedProvider
    >>> with EmbeddedProvider() as provider:
    ...     conn = cdata_oauth.connect(**provider.connection_properties())

Importing this package loads oauthlib; ``import cdata_oauth`` does not import it.
"""

from __future__ import annotations

from cdata_oauth.provider.http import RecordedRequest
from cdata_oauth.provider.server import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, EmbeddedProvider
from cdata_oauth.provider.store import AUTH_METHODS, Client

__all__ = ["ACCESS_TOKEN_PREFIX", "AUTH_METHODS", "REFRESH_TOKEN_PREFIX", "Client",
           "EmbeddedProvider", "RecordedRequest"]
