"""With the root logger at DEBUG, no record of the process holds a secret in clear: not
the ones oauthlib makes while it signs (its parameters, the signature base string with its
once and twice percent-encoded values), not urllib3's request lines, not the provider's
own records in its server threads, not records made while a flow runs in another thread.

Every flow runs against the real local providers: OAuth 1.0a with each SignMethod, WEB and
APP, and failures the provider logs about; OAuth 2.0 CODE (WEB and APP), PASSWORD,
CLIENT, REFRESH. Then every record's message, args, exception text and formatted line,
and pytest's caplog, are searched for every secret value that was used."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest

import cdata_oauth
from cdata_oauth import logguard
from cdata_oauth.exceptions import OAuthError
from cdata_oauth.provider import EmbeddedProvider
from cdata_oauth.redaction import MASK
from tests.servers.hostile import ScriptedBrowser
from tests.servers.oauth1_provider import OAuth1Provider, SigningKeyFiles

SIGN_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "PLAINTEXT", "RSA-SHA1")
OUTPUT_SECRETS = ("OAuthAccessToken", "OAuthTokenSecret", "OAuthRefreshToken", "PKCEVerifier")
SENT_SECRETS = ("client_secret", "code", "code_verifier", "password", "refresh_token")


class Logs(logging.Handler):
    """Every record of the process at DEBUG, each with its formatted line; and the
    secret values used, searched for in all of them."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(
            "%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s"))
        self.caplog = caplog
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.secrets: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def secret(self, *values: object) -> None:
        for value in values:
            if value is None or len(str(value)) < 6:
                continue
            text = str(value)
            once = quote(text, safe="")
            self.secrets.update({text, once, quote_plus(text), quote(once, safe="")})

    def from_row(self, row: dict[str, Any]) -> dict[str, Any]:
        self.secret(*(row.get(name) for name in OUTPUT_SECRETS))
        return row

    def watched(self, prefix: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == prefix or r.name.startswith(prefix + ".")]

    def texts(self) -> Iterator[tuple[str, str]]:
        for record in self.records:
            where = f"{record.name} in {record.threadName}"
            yield where, record.getMessage()
            yield where, str(record.msg)
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            for arg in args:
                yield where, f"{arg} {arg!r}"
            yield where, record.exc_text or ""
        for line in self.lines:
            yield "formatted line", line
        for record in self.caplog.records:
            yield f"caplog {record.name}", record.getMessage()
        yield "caplog.text", self.caplog.text

    def check(self) -> None:
        assert len(self.secrets) >= 4
        assert self.watched("urllib3"), "urllib3 recorded nothing: the check proves nothing"
        hits = sorted({(where, s[:4] + "...") for where, text in self.texts()
                       for s in self.secrets if s in text})
        assert hits == [], f"secrets in log records: {hits}"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Logs]:
    """The root logger at DEBUG with a capturing handler (and caplog), for one test."""
    root = logging.getLogger()
    handler = Logs(caplog)
    level = root.level
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _row(conn: cdata_oauth.Connection, statement: str, params: Any = None) -> dict[str, Any]:
    cursor = conn.cursor()
    cursor.execute(statement, params)
    values = cursor.fetchone()
    assert values is not None and cursor.description is not None
    return {d[0]: v for d, v in zip(cursor.description, values, strict=True)}


def _verifier(landing: str) -> str:
    return dict(parse_qsl(urlsplit(landing).query or landing))["oauth_verifier"]


def _in_thread(run: Callable[[], Any]) -> threading.Thread:
    """Run ``run`` in a new thread and wait; its exception, if any, is raised here."""
    failures: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # shown by the test
            failures.append(exc)

    worker = threading.Thread(target=target, name="flow-worker")
    worker.start()
    worker.join(60)
    assert not worker.is_alive() and failures == [], failures
    return worker


def _oauth1_props(provider: OAuth1Provider, key: SigningKeyFiles, method: str,
                  logs: Logs) -> dict[str, Any]:
    app = provider.register(rsa_public_pem=key.public_pem)
    extra: dict[str, Any] = {"SignMethod": method}
    if method == "RSA-SHA1":
        extra.update(Cert=key.pfx_path, CertPassword=key.password, OAuthClientSecret=None)
    logs.secret(app.secret, key.password if method == "RSA-SHA1" else None)
    return provider.connection_properties(app, **extra)


def _oauth1_web(provider: OAuth1Provider, props: dict[str, Any], logs: Logs) -> None:
    """Both WEB steps on one connection: request token, authorization, exchange."""
    with cdata_oauth.connect(**props) as conn:
        step1 = logs.from_row(_row(conn, "EXEC GetOAuthAuthorizationURL"))
        verifier = _verifier(provider.authorize(step1["URL"]))
        logs.secret(verifier)
        row = logs.from_row(_row(conn, "EXEC GetOAuthAccessToken AuthMode='WEB', "
                                       "Verifier=?", (verifier,)))
        assert row["OAuthAccessToken"] and row["OAuthTokenSecret"]


# -- OAuth 1.0a --------------------------------------------------------------------------

@pytest.mark.parametrize("method", SIGN_METHODS)
def test_oauth1_web_flow_leaves_no_secret_in_any_record(
        oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles, logs: Logs,
        method: str) -> None:
    _oauth1_web(oauth1_provider, _oauth1_props(oauth1_provider, oauth1_test_key, method,
                                               logs), logs)
    if method != "PLAINTEXT":  # which oauthlib signs without a base string, or a record
        signing = [r.getMessage() for r in logs.watched("oauthlib.oauth1")]
        assert any("signature base string" in m for m in signing)  # oauthlib did log
        assert any("oauth_verifier" in m and MASK in m for m in signing)  # ... masked
    logs.check()


def test_oauth1_app_flow_and_refusals_leave_no_secret_in_any_record(
        oauth1_provider: OAuth1Provider, logs: Logs,
        scripted_browser: ScriptedBrowser) -> None:
    app = oauth1_provider.register()
    logs.secret(app.secret)
    props = oauth1_provider.connection_properties(app, CallbackURL="http://127.0.0.1:0/cb")
    scripted_browser.script = scripted_browser.sign_in
    with cdata_oauth.connect(**props) as conn:
        logs.from_row(_row(conn, "EXEC GetOAuthAccessToken"))
    assert scripted_browser.errors == [] and scripted_browser.landings
    for landing in scripted_browser.landings:
        logs.secret(_verifier(landing), landing)
    with cdata_oauth.connect(**props) as conn:  # a wrong verifier: the provider logs why
        step1 = logs.from_row(_row(conn, "EXEC GetOAuthAuthorizationURL"))
        wrong = "wrong-" + secrets.token_urlsafe(12)
        logs.secret(wrong)
        with pytest.raises(OAuthError):
            _row(conn, "EXEC GetOAuthAccessToken AuthMode='WEB', Verifier=?", (wrong,))
        assert step1["OAuthAccessToken"]
    bad_secret = "wrong-" + secrets.token_urlsafe(12)
    logs.secret(bad_secret)
    with cdata_oauth.connect(**{**props, "OAuthClientSecret": bad_secret}) as conn, \
            pytest.raises(OAuthError):
        _row(conn, "EXEC GetOAuthAuthorizationURL")
    logs.check()


# -- OAuth 2.0 ---------------------------------------------------------------------------

def _harvest(provider: EmbeddedProvider, logs: Logs) -> None:
    """Every secret the provider received: codes, PKCE verifiers, credentials."""
    for request in provider.token_requests:
        logs.secret(*(v for k, v in request.form.items() if k in SENT_SECRETS))
        logs.secret(request.headers.get("Authorization"))


def test_oauth2_grants_leave_no_secret_in_any_record(fresh_provider: EmbeddedProvider,
                                                    logs: Logs) -> None:
    p = fresh_provider
    logs.secret(p.client_secret, p.password)
    with cdata_oauth.connect(**p.connection_properties(GrantType="CLIENT")) as conn:
        logs.from_row(_row(conn, "EXEC GetOAuthAccessToken"))
    with cdata_oauth.connect(**p.connection_properties(
            GrantType="PASSWORD", User=p.user, Password=p.password)) as conn:
        first = logs.from_row(_row(conn, "EXEC GetOAuthAccessToken"))
        logs.from_row(_row(conn, "EXEC GetOAuthAccessToken GrantType='REFRESH', "
                                 "OAuthRefreshToken=?", (first["OAuthRefreshToken"],)))
    with cdata_oauth.connect(**p.connection_properties(GrantType="CODE",
                                                       AuthMode="WEB")) as conn:
        step1 = logs.from_row(_row(conn, "EXEC GetOAuthAuthorizationURL"))
        landing = ScriptedBrowser.landing(step1["URL"])
        logs.secret(dict(parse_qsl(urlsplit(landing).query))["code"], landing)
        logs.from_row(_row(conn, "EXEC GetOAuthAccessToken Verifier=?", (landing,)))
    _harvest(p, logs)
    assert len(p.token_requests) == 4
    logs.check()


def test_oauth2_code_app_flow_leaves_no_secret_in_any_record(
        fresh_provider: EmbeddedProvider, logs: Logs,
        scripted_browser: ScriptedBrowser) -> None:
    p = fresh_provider
    logs.secret(p.client_secret)
    scripted_browser.script = scripted_browser.sign_in
    with cdata_oauth.connect(**p.connection_properties(GrantType="CODE",
                                                       AuthMode="APP")) as conn:
        logs.from_row(_row(conn, "EXEC GetOAuthAccessToken"))
    assert scripted_browser.errors == []
    for landing in scripted_browser.landings:
        logs.secret(dict(parse_qsl(urlsplit(landing).query)).get("code"), landing)
    _harvest(p, logs)
    assert any(r.form.get("code_verifier") for r in p.token_requests)
    logs.check()


# -- other threads -----------------------------------------------------------------------

def test_flows_run_in_another_thread_leave_no_secret_in_its_records(
        oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles,
        fresh_provider: EmbeddedProvider, logs: Logs) -> None:
    props = _oauth1_props(oauth1_provider, oauth1_test_key, "HMAC-SHA1", logs)
    p = fresh_provider
    logs.secret(p.client_secret, p.password)

    def password_grant() -> None:
        with cdata_oauth.connect(**p.connection_properties(
                GrantType="PASSWORD", User=p.user, Password=p.password)) as conn:
            logs.from_row(_row(conn, "EXEC GetOAuthAccessToken"))

    workers = [_in_thread(lambda: _oauth1_web(oauth1_provider, props, logs)),
               _in_thread(password_grant)]
    _harvest(p, logs)
    for worker in workers:
        assert any(r.thread == worker.ident for r in logs.watched("urllib3"))
    assert any(r.thread == workers[0].ident for r in logs.watched("oauthlib"))
    logs.check()


def test_a_secret_in_use_is_masked_in_records_of_any_thread(logs: Logs) -> None:
    value = "in-use/" + secrets.token_urlsafe(12)
    logs.secret(value)
    signing = logging.getLogger("oauthlib.oauth1.rfc5849")
    once = quote(value, safe="")

    def log_it() -> None:
        signing.debug("Collected params: %r", [("some_field", value)])
        signing.debug("Signing: signature base string: POST&x&a%%3D%s", quote(once, safe=""))
        logging.getLogger("urllib3.connectionpool").debug("failed", exc_info=ValueError(value))

    with logguard.in_use([value]):
        _in_thread(log_it)
    made = logs.watched("oauthlib") + logs.watched("urllib3")
    assert len(made) == 3 and all(MASK in r.getMessage() + (r.exc_text or "") for r in made)
    hits = [where for where, text in logs.texts() if any(s in text for s in logs.secrets)]
    assert hits == []


def test_records_of_other_loggers_are_left_as_made(logs: Logs) -> None:
    value = "app-own-" + secrets.token_urlsafe(8)
    with logguard.in_use([value]):
        logging.getLogger("myapp.module").debug("the app logs %s", value)
    record = next(r for r in logs.records if r.name == "myapp.module")
    assert record.msg == "the app logs %s" and record.args == (value,)


def test_no_record_no_masking_work_while_logging_is_off(
        oauth1_provider: OAuth1Provider, oauth1_test_key: SigningKeyFiles,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = logguard._mask_record
    monkeypatch.setattr(logguard, "_mask_record",
                        lambda record: (calls.append(record.name), real(record)))
    assert not any(logging.getLogger(name).isEnabledFor(logging.DEBUG)
                   for name in logguard.WATCHED_LOGGERS)
    app = oauth1_provider.register()
    with cdata_oauth.connect(**oauth1_provider.connection_properties(app)) as conn:
        assert _row(conn, "EXEC GetOAuthAuthorizationURL")["OAuthAccessToken"]
    assert calls == []
