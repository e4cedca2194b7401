"""``oauthGetUserAuthorizationURL``: dispatches on OAuthVersion to build the URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdata_oauth.oauth.operations import Invocation


def run(invocation: Invocation) -> Mapping[str, Any]:
    if invocation.inputs.get("OAuthVersion") == "1.0":
        from cdata_oauth.oauth.oauth1 import authorization_url as oauth1_authorization_url

        return oauth1_authorization_url(invocation)
    from cdata_oauth.oauth.oauth2 import authorization_url as oauth2_authorization_url

    return oauth2_authorization_url(invocation)
