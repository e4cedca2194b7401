"""``oauthGetAccessToken``: dispatches on OAuthVersion to the OAuth 1.0a or 2.0 flow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cdata_oauth.oauth.operations import Invocation


def run(invocation: Invocation) -> Mapping[str, Any]:
    if invocation.inputs.get("OAuthVersion") == "1.0":
        from cdata_oauth.oauth.oauth1 import get_access_token as oauth1_get_access_token

        return oauth1_get_access_token(invocation)
    from cdata_oauth.oauth.oauth2 import get_access_token as oauth2_get_access_token

    return oauth2_get_access_token(invocation)
