"""Server metadata discovery from OAuthIssuer against a server of ours that answers as a
test says: the OpenID Connect and RFC 8414 paths, every failure the issue lists, the
process-wide cache (max-age, single flight, nothing kept from a failure), explicit
properties winning, the URL policy on discovered endpoints, and ClientAuth."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.oauth.discovery import well_known_urls
from tests.servers.metadata_server import MetadataServer
from tests.servers.squid import Squid

CLIENT_ID, CLIENT_SECRET = "disc-client", "disc-secret-Zq81"
TOKEN = {"access_token": "disc-access-token-1", "token_type": "Bearer", "expires_in": 600}


def props(issuer: str, **extra: Any) -> dict[str, Any]:
    return {"OAuthVersion": "2.0", "OAuthIssuer": issuer, "OAuthClientId": CLIENT_ID,
            "OAuthClientSecret": CLIENT_SECRET, "Timeout": 20, **extra}


def rows_of(statement: str, **properties: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    with cdata_oauth.connect(**properties) as conn:
        cursor = conn.execute(statement)
        return [d[0] for d in cursor.description or ()], cursor.fetchall()


def served(server: MetadataServer, **fields: Any) -> str:
    """A new issuer whose OpenID Connect metadata the server serves."""
    issuer = server.new_issuer()
    server.serve("GET", well_known_urls(issuer)[0], body=server.metadata(issuer, **fields))
    return issuer


def test_server_metadata_is_one_row_per_field_in_the_servers_order(
        metadata_server: MetadataServer) -> None:
    issuer = metadata_server.new_issuer()
    document = {"issuer": issuer, "token_endpoint": issuer + "/token",
                "scopes_supported": ["openid", "read"], "authorization_response_iss_parameter_"
                "supported": True, "a_number": 3, "nested": {"b": [1, None]}}
    text = json.dumps(document)  # the server's order, not sorted
    metadata_server.serve("GET", well_known_urls(issuer)[0], body=text)
    with cdata_oauth.connect(**props(issuer)) as conn:
        cursor = conn.execute("EXEC GetOAuthServerMetadata")
        assert [d[0] for d in cursor.description or ()] == ["Name", "Value"]
        assert cursor.rowcount == len(document)
        assert cursor.fetchmany(2) == [("issuer", issuer), ("token_endpoint", issuer + "/token")]
        assert cursor.fetchall() == [
            ("scopes_supported", '["openid","read"]'),
            ("authorization_response_iss_parameter_supported", "true"),
            ("a_number", "3"), ("nested", '{"b":[1,null]}')]
        assert cursor.fetchone() is None


def test_rfc8414_path_insertion_is_tried_when_openid_configuration_is_missing(
        metadata_server: MetadataServer) -> None:
    issuer = metadata_server.new_issuer()  # has a path: /t<hex>
    oidc, rfc8414 = well_known_urls(issuer)
    tenant = issuer.rsplit("/", 1)[1]
    assert rfc8414 == f"{metadata_server.base_url}/.well-known/oauth-authorization-server/{tenant}"
    metadata_server.serve("GET", rfc8414, body=metadata_server.metadata(issuer))
    _, rows = rows_of("EXEC GetOAuthServerMetadata", **props(issuer))
    assert ("issuer", issuer) in rows
    assert metadata_server.count("GET", oidc) == 1 and metadata_server.count("GET", rfc8414) == 1


def test_404_on_both_paths_names_both_urls_and_nothing_is_cached(
        metadata_server: MetadataServer) -> None:
    issuer = metadata_server.new_issuer()
    oidc, rfc8414 = well_known_urls(issuer)
    with pytest.raises(cdata_oauth.OperationalError) as caught:
        rows_of("EXEC GetOAuthServerMetadata", **props(issuer))
    message = str(caught.value)
    assert oidc in message and rfc8414 in message and "HTTP 404" in message
    assert CLIENT_SECRET not in message
    metadata_server.serve("GET", oidc, body=metadata_server.metadata(issuer))
    _, rows = rows_of("EXEC GetOAuthServerMetadata", **props(issuer))  # fetched anew
    assert ("issuer", issuer) in rows
    assert metadata_server.count("GET", oidc) == 2


@pytest.mark.parametrize(("body", "problem"), [
    ("<html>Sign in</html>", "not a JSON object"),
    ('["issuer"]', "not a JSON object"),
    ('{"token_endpoint": "http://127.0.0.1/token"}', "lacks the field issuer"),
])
def test_metadata_that_is_not_an_object_with_an_issuer_is_refused(
        metadata_server: MetadataServer, body: str, problem: str) -> None:
    issuer = metadata_server.new_issuer()
    metadata_server.serve("GET", well_known_urls(issuer)[0], body=body)
    with pytest.raises(cdata_oauth.OperationalError, match=problem) as caught:
        rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'", **props(issuer))
    assert issuer in str(caught.value)
    assert metadata_server.posts(issuer + "/token") == []


def test_metadata_of_another_issuer_is_refused_naming_both(
        metadata_server: MetadataServer) -> None:
    issuer = metadata_server.new_issuer()
    other = "https://evil.example"
    metadata_server.serve("GET", well_known_urls(issuer)[0],
                          body=metadata_server.metadata(issuer, issuer=other))
    with pytest.raises(cdata_oauth.OperationalError) as caught:
        rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'", **props(issuer))
    assert issuer in str(caught.value) and other in str(caught.value)
    assert metadata_server.posts(issuer + "/token") == []


@pytest.mark.parametrize("issuer", ["http://login.example.com", "login.example.com",
                                    "https://login.example.com?tenant=1", "ftp://x.example"])
def test_an_issuer_that_is_not_an_absolute_https_url_is_a_programming_error(
        issuer: str) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match="OAuthIssuer"):
        rows_of("EXEC GetOAuthServerMetadata", **props(issuer))


def test_metadata_is_kept_for_an_hour_by_default_and_for_max_age(
        metadata_server: MetadataServer) -> None:
    kept = served(metadata_server)
    for _ in range(3):
        rows_of("EXEC GetOAuthServerMetadata", **props(kept))
    assert metadata_server.count("GET", well_known_urls(kept)[0]) == 1
    fresh = metadata_server.new_issuer()
    metadata_server.serve("GET", well_known_urls(fresh)[0],
                          body=metadata_server.metadata(fresh),
                          headers={"Cache-Control": "public, max-age=0"})
    for _ in range(3):
        rows_of("EXEC GetOAuthServerMetadata", **props(fresh))
    assert metadata_server.count("GET", well_known_urls(fresh)[0]) == 3


def test_sixteen_threads_starting_together_send_one_metadata_request(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server)
    metadata_server.delay = 0.3
    start = threading.Barrier(16)
    results: list[Any] = []

    def run() -> None:
        start.wait()
        try:
            results.append(rows_of("EXEC GetOAuthServerMetadata", **props(issuer))[1][0])
        except Exception as error:  # collected: asserted below
            results.append(error)

    threads = [threading.Thread(target=run) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [("issuer", issuer)] * 16
    assert metadata_server.count("GET", well_known_urls(issuer)[0]) == 1


def test_discovered_endpoints_fill_only_what_is_not_set(
        metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server, token_endpoint=None)  # no token_endpoint advertised
    with pytest.raises(cdata_oauth.OperationalError, match="lacks the field token_endpoint"):
        rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'", **props(issuer))
    explicit = issuer + "/my-token"
    metadata_server.serve("POST", explicit, body=TOKEN)
    _, rows = rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'",
                      **props(issuer, OAuthAccessTokenURL=explicit))
    assert rows[0][0] == TOKEN["access_token"]
    assert len(metadata_server.posts(explicit)) == 1


def test_a_discovered_endpoint_passes_the_url_policy(metadata_server: MetadataServer) -> None:
    issuer = served(metadata_server, token_endpoint="http://tokens.example/token")
    with pytest.raises(cdata_oauth.OperationalError, match="token_endpoint") as caught:
        rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'", **props(issuer))
    assert "plain http" in str(caught.value) and "OAuthAccessTokenURL" in str(caught.value)


def _auth_of(request: dict[str, Any]) -> str:
    header = request["headers"].get("Authorization", "")
    if header.startswith("Basic "):
        assert base64.b64decode(header[6:]).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
        assert "client_secret" not in request["form"]
        return "BASIC"
    assert request["form"].get("client_secret") == CLIENT_SECRET
    return "POST"


@pytest.mark.parametrize(("advertised", "option", "used"), [
    (["private_key_jwt", "client_secret_post", "client_secret_basic"], None, "POST"),
    (["client_secret_basic", "client_secret_post"], None, "BASIC"),
    (["none"], None, "BASIC"),  # nothing usable listed: today's default
    (["client_secret_post"], "ClientAuth=BASIC", "BASIC"),  # explicit ClientAuth wins
    (["client_secret_basic"], "ClientAuth=POST", "POST"),
])
def test_client_auth_follows_the_metadata_unless_client_auth_is_given(
        metadata_server: MetadataServer, advertised: list[str], option: str | None,
        used: str) -> None:
    issuer = served(metadata_server, token_endpoint_auth_methods_supported=advertised)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    extra = {"OtherOptions": option} if option else {}
    rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'", **props(issuer, **extra))
    (request,) = metadata_server.posts(issuer + "/token")
    assert _auth_of(request) == used


def test_metadata_goes_through_the_connections_transport_and_log(
        metadata_server: MetadataServer, tmp_path: Any) -> None:
    issuer = served(metadata_server)
    log = tmp_path / "http.log"
    rows_of("EXEC GetOAuthServerMetadata", **props(issuer, LogFile=str(log)))
    assert f"GET {well_known_urls(issuer)[0]}" in log.read_text()


def test_metadata_is_fetched_through_the_connections_proxy(
        metadata_server: MetadataServer, squid: Squid) -> None:
    issuer = served(metadata_server)
    metadata_server.serve("POST", issuer + "/token", body=TOKEN)
    mark = squid.mark()
    rows_of("EXEC GetOAuthAccessToken GrantType='CLIENT'",
            **props(issuer, Proxy_Server="127.0.0.1", Proxy_Port=squid.ports["basic"],
                    Proxy_User=squid.basic_user, Proxy_Password=squid.basic_password))
    want = f"GET {well_known_urls(issuer)[0]}"
    lines = squid.lines_since(mark, f"POST {issuer}/token")
    assert any(want in line and " 200 " in line for line in lines), lines
    assert metadata_server.count("GET", well_known_urls(issuer)[0]) == 1
