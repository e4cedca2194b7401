"""The embedded OAuth 2.0 provider itself, driven with raw HTTP requests: each grant,
PKCE, single-use codes, refresh rotation and enforcement of client authentication."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from cdata_oauth.provider import EmbeddedProvider

REDIRECT = "http://127.0.0.1:45678/callback"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode() \
        .rstrip("=")


def authorize(http: requests.Session, p: EmbeddedProvider, client_id: str,
              redirect_uri: str = REDIRECT, **params: str) -> dict[str, str]:
    """The query of the redirect the authorization endpoint answers with."""
    answer = http.get(p.authorization_url, allow_redirects=False, params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "state": "st-1", **params})
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri + "?")
    return dict(parse_qsl(urlsplit(location).query))


def token(http: requests.Session, p: EmbeddedProvider, *, basic: bool = True,
          **form: str) -> requests.Response:
    auth = (p.client_id, p.client_secret) if basic else None
    return http.post(p.token_url, data=form, auth=auth)


def error_of(answer: requests.Response) -> Any:
    return answer.json().get("error")


# -- grants ------------------------------------------------------------------------------

def test_client_credentials_issues_a_bearer_token_the_resource_accepts(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    answer = token(http, fresh_provider, grant_type="client_credentials", scope="read write")
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read write"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body
    info = http.get(fresh_provider.userinfo_url,
                    headers={"Authorization": "Bearer " + body["access_token"]})
    assert info.status_code == 200
    assert info.json()["client_id"] == fresh_provider.client_id
    assert http.get(fresh_provider.userinfo_url,
                    headers={"Authorization": "Bearer nope"}).status_code == 401
    assert fresh_provider.grant_counts == {"client_credentials": 1}


def test_password_grant_checks_the_user(http: requests.Session,
                                        fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    good = token(http, p, grant_type="password", username=p.user, password=p.password)
    assert good.status_code == 200
    assert good.json()["refresh_token"]
    info = http.get(p.userinfo_url, headers={"Authorization": "Bearer "
                                             + good.json()["access_token"]})
    assert info.json()["sub"] == p.user
    bad = token(http, p, grant_type="password", username=p.user, password=p.password + "x")
    assert (bad.status_code, error_of(bad)) == (400, "invalid_grant")
    assert p.grant_counts == {"password": 1}


def test_authorization_endpoint_approves_at_once_and_echoes_state(
        http: requests.Session, embedded_provider: EmbeddedProvider) -> None:
    query = authorize(http, embedded_provider, embedded_provider.client_id, state="abc")
    assert query["state"] == "abc"
    assert query["code"]


def test_code_grant_for_the_confidential_client(http: requests.Session,
                                                fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    code = authorize(http, p, p.client_id)["code"]
    answer = token(http, p, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"]
    assert p.grant_counts == {"authorization_code": 1}


def test_code_is_single_use(http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    code = authorize(http, p, p.client_id)["code"]
    first = token(http, p, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    again = token(http, p, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert (again.status_code, error_of(again)) == (400, "invalid_grant")


def test_code_is_bound_to_its_redirect_uri(http: requests.Session,
                                           fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    code = authorize(http, p, p.client_id)["code"]
    answer = token(http, p, grant_type="authorization_code", code=code,
                   redirect_uri="http://127.0.0.1:45679/callback")
    assert answer.status_code == 400
    assert p.grant_counts["authorization_code"] == 0


def test_concurrent_redemptions_of_one_code_give_one_token(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    code = authorize(http, p, p.client_id)["code"]

    def redeem(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            return token(session, p, grant_type="authorization_code", code=code,
                         redirect_uri=REDIRECT).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(redeem, range(8)))
    assert statuses == [200] + [400] * 7
    assert p.grant_counts == {"authorization_code": 1}


# -- PKCE --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce_verifier_is_checked(http: requests.Session, fresh_provider: EmbeddedProvider,
                                  method: str) -> None:
    p = fresh_provider
    verifier = secrets.token_urlsafe(48)
    challenge = s256(verifier) if method == "S256" else verifier
    form = {"grant_type": "authorization_code", "client_id": p.public_client_id,
            "redirect_uri": REDIRECT}

    code = authorize(http, p, p.public_client_id, code_challenge=challenge,
                     code_challenge_method=method)["code"]
    wrong = token(http, p, basic=False, code=code, code_verifier=verifier + "x", **form)
    assert (wrong.status_code, error_of(wrong)) == (400, "invalid_grant")

    code = authorize(http, p, p.public_client_id, code_challenge=challenge,
                     code_challenge_method=method)["code"]
    missing = token(http, p, basic=False, code=code, **form)
    assert missing.status_code == 400

    code = authorize(http, p, p.public_client_id, code_challenge=challenge,
                     code_challenge_method=method)["code"]
    right = token(http, p, basic=False, code=code, code_verifier=verifier, **form)
    assert right.status_code == 200, right.text
    assert p.grant_counts == {"authorization_code": 1}


def test_public_client_must_use_pkce(http: requests.Session,
                                     embedded_provider: EmbeddedProvider) -> None:
    query = authorize(http, embedded_provider, embedded_provider.public_client_id)
    assert query["error"] == "invalid_request"
    assert "code" not in query
    assert query["state"] == "st-1"


# -- refresh -----------------------------------------------------------------------------

def _refresh_token(http: requests.Session, p: EmbeddedProvider) -> str:
    answer = token(http, p, grant_type="password", username=p.user, password=p.password)
    return str(answer.json()["refresh_token"])


def test_refresh_rotates_and_spends_the_old_token(http: requests.Session,
                                                  fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    old = _refresh_token(http, p)
    first = token(http, p, grant_type="refresh_token", refresh_token=old)
    assert first.status_code == 200
    new = first.json()["refresh_token"]
    assert new != old
    assert not p.is_refresh_token_valid(old)
    spent = token(http, p, grant_type="refresh_token", refresh_token=old)
    assert (spent.status_code, error_of(spent)) == (400, "invalid_grant")
    assert token(http, p, grant_type="refresh_token", refresh_token=new).status_code == 200
    assert p.grant_counts == {"password": 1, "refresh_token": 2}


def test_without_rotation_the_answer_has_no_refresh_token_and_the_old_one_lives(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.rotate_refresh_tokens = False
    old = _refresh_token(http, p)
    for _ in range(2):
        answer = token(http, p, grant_type="refresh_token", refresh_token=old)
        assert answer.status_code == 200
        assert "refresh_token" not in answer.json()


def test_refresh_token_is_bound_to_its_client(http: requests.Session,
                                              fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    old = _refresh_token(http, p)
    p.register_client("other", "other-secret")
    answer = http.post(p.token_url, data={"grant_type": "refresh_token", "refresh_token": old},
                       auth=("other", "other-secret"))
    assert (answer.status_code, error_of(answer)) == (400, "invalid_grant")


def test_access_token_lifetime_is_configurable_and_enforced(http: requests.Session) -> None:
    with EmbeddedProvider(access_token_lifetime=1) as p:
        answer = token(http, p, grant_type="client_credentials")
        assert answer.json()["expires_in"] == 1
        access = answer.json()["access_token"]
        assert p.is_access_token_valid(access)
        deadline = time.monotonic() + 10
        while p.is_access_token_valid(access) and time.monotonic() < deadline:
            time.sleep(0.2)
        info = http.get(p.userinfo_url, headers={"Authorization": "Bearer " + access})
        assert info.status_code == 401
        p.access_token_lifetime = 7
        assert token(http, p, grant_type="client_credentials").json()["expires_in"] == 7


# -- client authentication ----------------------------------------------------------------

def test_basic_client_sending_its_secret_in_the_body_is_refused(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    answer = http.post(p.token_url, data={"grant_type": "client_credentials",
                                          "client_id": p.client_id,
                                          "client_secret": p.client_secret})
    assert (answer.status_code, error_of(answer)) == (401, "invalid_client")
    assert answer.json()["error_description"]
    assert p.token_requests[-1].auth_method == "client_secret_post"
    assert p.grant_counts == {}


def test_post_client_must_use_the_body(http: requests.Session,
                                       fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    p.register_client("poster", "poster-secret", "client_secret_post")
    basic = http.post(p.token_url, data={"grant_type": "client_credentials"},
                      auth=("poster", "poster-secret"))
    assert (basic.status_code, error_of(basic)) == (401, "invalid_client")
    body = http.post(p.token_url, data={"grant_type": "client_credentials",
                                        "client_id": "poster",
                                        "client_secret": "poster-secret"})
    assert body.status_code == 200
    assert [r.auth_method for r in p.token_requests] == ["client_secret_basic",
                                                         "client_secret_post"]


def test_both_methods_at_once_are_refused(http: requests.Session,
                                          embedded_provider: EmbeddedProvider) -> None:
    p = embedded_provider
    answer = http.post(p.token_url, auth=(p.client_id, p.client_secret),
                       data={"grant_type": "client_credentials", "client_id": p.client_id,
                             "client_secret": p.client_secret})
    assert (answer.status_code, error_of(answer)) == (401, "invalid_client")


@pytest.mark.parametrize("case", ["wrong secret", "no authentication", "unknown client"])
def test_confidential_client_must_authenticate(http: requests.Session,
                                               embedded_provider: EmbeddedProvider,
                                               case: str) -> None:
    p = embedded_provider
    auth = {"wrong secret": (p.client_id, p.client_secret + "x"), "no authentication": None,
            "unknown client": ("nobody", "x")}[case]
    answer = http.post(p.token_url, auth=auth, data={
        "grant_type": "password", "username": p.user, "password": p.password,
        "client_id": p.client_id if auth is None else None})
    assert (answer.status_code, error_of(answer)) == (401, "invalid_client")


def test_public_client_may_not_send_a_secret(http: requests.Session,
                                             embedded_provider: EmbeddedProvider) -> None:
    p = embedded_provider
    answer = http.post(p.token_url, auth=(p.public_client_id, "anything"), data={
        "grant_type": "password", "username": p.user, "password": p.password})
    assert (answer.status_code, error_of(answer)) == (401, "invalid_client")
    fine = http.post(p.token_url, data={"grant_type": "password", "username": p.user,
                                        "password": p.password,
                                        "client_id": p.public_client_id})
    assert fine.status_code == 200


def test_token_requests_are_recorded(http: requests.Session,
                                     fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    token(http, p, grant_type="client_credentials", scope="read")
    record = p.token_requests[-1]
    assert record.grant_type == "client_credentials"
    assert record.form == {"grant_type": "client_credentials", "scope": "read"}
    assert record.auth_method == "client_secret_basic"
    assert record.status == 200 and record.error is None
    assert record.response["access_token"].startswith("at_")


# -- authorization endpoint errors --------------------------------------------------------

def test_denied_authorization_redirects_with_access_denied(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    fresh_provider.approve = False
    query = authorize(http, fresh_provider, fresh_provider.client_id, state="s9")
    assert query == {"error": "access_denied", "state": "s9"}


def test_untrusted_redirects_are_answered_here_not_followed(
        http: requests.Session, fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider
    for client_id, redirect in [("nobody", REDIRECT), (p.client_id, "https://evil.example/cb")]:
        answer = http.get(p.authorization_url, allow_redirects=False, params={
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect})
        assert answer.status_code in (400, 401)
        assert "Location" not in answer.headers
    p.register_client("webapp", "webapp-secret", redirect_uris=("https://app.example/cb",))
    assert authorize(http, p, "webapp", "https://app.example/cb")["code"]


def test_unknown_paths_and_methods_get_404(http: requests.Session,
                                           embedded_provider: EmbeddedProvider) -> None:
    assert http.get(embedded_provider.base_url + "/nope").status_code == 404
    assert http.get(embedded_provider.token_url).status_code == 404


def test_concurrent_token_requests_are_all_counted(fresh_provider: EmbeddedProvider) -> None:
    p = fresh_provider

    def one(_: int) -> int:
        with requests.Session() as session:
            session.trust_env = False
            return token(session, p, grant_type="client_credentials").status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(40))) == {200}
    assert p.grant_counts == {"client_credentials": 40}
    assert len(p.token_requests) == 40


def test_stop_closes_the_port_and_kept_alive_connections(http: requests.Session) -> None:
    p = EmbeddedProvider().start()
    url = p.token_url
    assert token(http, p, grant_type="client_credentials").status_code == 200  # kept alive
    p.stop()
    p.stop()
    with pytest.raises(requests.ConnectionError):
        http.post(url, data={"grant_type": "client_credentials"}, timeout=5)
