"""Helpers of the transport tests: run a real token exchange with given properties."""

from __future__ import annotations

from typing import Any

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.transport.session import Transport
from cdata_oauth.transport.settings import TransportSettings


def row_of(cursor: cdata_oauth.Cursor) -> dict[str, Any]:
    names = [d[0] for d in cursor.description or ()]
    return dict(zip(names, cursor.fetchone() or (), strict=True))


def client_token(p: EmbeddedProvider, **properties: Any) -> dict[str, Any]:
    """EXEC GetOAuthAccessToken with the client-credentials grant; the connection (and its
    transports, so any CONNECT tunnel) is closed before this returns."""
    properties.setdefault("Timeout", 20)
    props = p.connection_properties(GrantType="CLIENT", **properties)
    with cdata_oauth.connect(**props) as conn:
        row = row_of(conn.execute("EXEC GetOAuthAccessToken"))
    assert p.is_access_token_valid(row["OAuthAccessToken"])
    return row


def transport(**settings: Any) -> Transport:
    settings.setdefault("Timeout", 20)
    return Transport(TransportSettings.from_inputs(settings))


def client_form(server: Any) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": server.client_id,
            "client_secret": server.client_secret}
