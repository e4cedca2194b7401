"""The SQLAlchemy dialect ``cdata_oauth``: URLs, statements, pooling, inspection.

The first tests run a procedure of our own (a script in a tmp Location calling a test
operation that records what it was given), so they check exactly what reached the
procedure; the last ones go end to end through the OAuth 2.0 operation against the
embedded authorization server and the npm oauth2-mock-server.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text

import cdata_oauth
from cdata_oauth.dbapi.systables import SYSTEM_TABLES
from cdata_oauth.oauth.operations import Invocation, register_operation, unregister_operation

TEST_OP = "sqlaTestMint"
PROCEDURE = "MintTestToken"
SCRIPT = f"""<api:script xmlns:api="http://www.rssbus.com/ns/rsbscript/2"
            xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <api:info title="{PROCEDURE}" desc="Issues a fake token from its inputs (SQLAlchemy tests).">
    <input  name="Label" desc="Copied to the Label column."/>
    <input  name="RefreshToken" desc="A secret input; the token is derived from it."/>
    <input  name="Count" xs:type="int" desc="Copied to the Count column."/>
    <input  name="OAuthParam:*" desc="Extra parameters, recorded only."/>
    <output name="AccessToken" desc="issued-&lt;RefreshToken&gt;"/>
    <output name="Label" desc="The Label input."/>
    <output name="Count" xs:type="int" desc="The Count input."/>
  </api:info>
  <api:call op="{TEST_OP}"><api:push/></api:call>
</api:script>
"""
OUTPUTS = ["AccessToken", "Label", "Count"]

# A secret with every character that means something in a URL or a connection string.
HARD_SECRET = "s3cr;et=&x+y%z#w'q@/?"


class Minter:
    """The test operation: records each invocation; Label='refuse' answers like a
    provider refusing the grant, Label='crash' fails like a bug."""

    def __init__(self) -> None:
        self.calls: list[Invocation] = []

    def __call__(self, invocation: Invocation) -> Mapping[str, Any]:
        self.calls.append(invocation)
        inputs = invocation.inputs
        if inputs.get("Label") == "refuse":
            raise cdata_oauth.OAuthError(
                "The provider refused the grant: invalid_grant (token revoked).",
                error="invalid_grant", description="token revoked", status=400)
        return {"AccessToken": f"issued-{inputs.get('RefreshToken')}",
                "Label": inputs.get("Label"), "Count": inputs.get("Count")}

    @property
    def last(self) -> Invocation:
        assert self.calls, "the test procedure never ran"
        return self.calls[-1]


def mint_location(folder: Path) -> Path:
    """A Location folder holding the test procedure's script."""
    (folder / f"{PROCEDURE}.rsb").write_text(SCRIPT, encoding="utf-8")
    return folder


@pytest.fixture
def minter() -> Iterator[Minter]:
    operation = Minter()
    register_operation(TEST_OP, operation)
    try:
        yield operation
    finally:
        unregister_operation(TEST_OP)


@pytest.fixture
def location(tmp_path: Path, minter: Minter) -> str:
    return str(mint_location(tmp_path))


@pytest.fixture
def engine(location: str) -> Iterator[sa.Engine]:
    eng = sa.create_engine(sa.URL.create("cdata_oauth", query={"Location": location}))
    yield eng
    eng.dispose()


def semicolon_url(properties: Mapping[str, Any]) -> str:
    """The commercial product's URL form: a connection string after '?', values quoted
    and percent-encoded (so that &, +, % and # survive the URL)."""
    parts = []
    for name, value in properties.items():
        quoted = "'" + str(value).replace("'", "''") + "'"
        parts.append(f"{name}={quote(quoted, safe=':/')}")
    return "cdata_oauth:///?" + ";".join(parts)


# -- URLs ------------------------------------------------------------------------------

def _run(eng: sa.Engine) -> None:
    with eng.connect() as conn:
        conn.execute(text(f"EXEC {PROCEDURE} Label='x'")).one()


def test_url_with_every_kind_of_property(location: str, minter: Minter) -> None:
    """Strings, numbers, booleans, enums in any case, a wildcard property, a quoted value
    holding ';', URL-encoded secrets, and the URL's user and password all arrive."""
    url = ("cdata_oauth://my-app:" + quote(HARD_SECRET, safe="") + "@/?"
           "oauthversion=2.0;GRANTTYPE=client;Timeout=7;Proxy_Auto=true"
           ";Scope='read;write=all'"
           f";OAuthAccessTokenURL={quote_plus('http://127.0.0.1:9/token?tenant=a&x=1')}"
           f"&Proxy_Password={quote_plus(HARD_SECRET)}"
           "&OAuthParam:prompt=consent"
           f"&Location={quote_plus(location)}")
    _run(sa.create_engine(url))
    inputs = minter.last.inputs
    assert inputs["OAuthClientId"] == "my-app"
    assert inputs["OAuthClientSecret"] == HARD_SECRET
    assert inputs["Proxy_Password"] == HARD_SECRET
    assert inputs["OAuthVersion"] == "2.0"
    assert inputs["GrantType"] == "CLIENT"
    assert inputs["Timeout"] == 7
    assert inputs["Proxy_Auto"] is True
    assert inputs["Scope"] == "read;write=all"
    assert inputs["OAuthAccessTokenURL"] == "http://127.0.0.1:9/token?tenant=a&x=1"
    assert inputs.family("OAuthParam:") == {"prompt": "consent"}


def test_semicolon_form_with_quoted_secrets(location: str, minter: Minter) -> None:
    properties = {"OAuthClientId": "abc", "OAuthClientSecret": HARD_SECRET,
                  "OAuthRefreshToken": "it's;a=token", "Location": location}
    _run(sa.create_engine(semicolon_url(properties)))
    inputs = minter.last.inputs
    for name, value in properties.items():
        assert inputs[name] == value


def test_url_create_with_query_dict(location: str, minter: Minter) -> None:
    """sqlalchemy.URL.create percent-encodes values; a secret holding ';' and '=' is taken
    as it is, not split."""
    secret = "p;w=d"
    _run(sa.create_engine(sa.URL.create(
        "cdata_oauth", query={"OAuthClientSecret": secret, "Location": location})))
    assert minter.last.inputs["OAuthClientSecret"] == secret


@pytest.mark.parametrize(("url", "words"), [
    ("cdata_oauth:///?OAuthClientSecrt=x", ["OAuthClientSecrt", "OAuthClientSecret"]),
    ("cdata_oauth:///?Timeout=soon", ["Timeout", "whole number"]),
    ("cdata_oauth:///?OAuthClientId=a;oauthclientid=b", ["OAuthClientId", "twice"]),
    ("cdata_oauth://id@/?OAuthClientId=b", ["OAuthClientId", "twice"]),
    ("cdata_oauth://example.com/db?OAuthClientId=a", ["host", "after '?'"]),
])
def test_bad_url_fails_at_create_engine(url: str, words: list[str]) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        sa.create_engine(url)
    for word in words:
        assert word in str(info.value)


def test_connect_time_error_is_the_connectors(tmp_path: Path) -> None:
    eng = sa.create_engine(sa.URL.create(
        "cdata_oauth", query={"Location": str(tmp_path / "missing")}))
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        eng.connect()
    assert isinstance(info.value, sa_exc.DBAPIError)
    assert "Location" in str(info.value) and "missing" in str(info.value)


def test_secrets_in_url_never_shown(location: str) -> None:
    """SQLAlchemy masks only the URL password; the dialect masks every secret property,
    while render_as_string(hide_password=False) still gives back a working URL."""
    properties = {"OAuthClientId": "visible-id", "OAuthClientSecret": "hidden-secret-1",
                  "OAuthRefreshToken": "hidden-refresh-2", "Location": location}
    forms: list[str | sa.URL] = [
        semicolon_url(properties),
        sa.URL.create("cdata_oauth", query=properties),
        sa.URL.create("cdata_oauth", username="visible-id", password="hidden-secret-1",
                      query={"OAuthRefreshToken": "hidden-refresh-2", "Location": location}),
    ]
    for form in forms:
        eng = sa.create_engine(form)
        shown = [repr(eng), str(eng.url), repr(eng.url), eng.url.render_as_string()]
        for text_shown in shown:
            assert "visible-id" in text_shown
            assert "hidden-secret-1" not in text_shown
            assert "hidden-refresh-2" not in text_shown
        with eng.connect() as conn:
            assert "hidden" not in repr(conn.connection.dbapi_connection)
        again = sa.create_engine(eng.url.render_as_string(hide_password=False))
        assert again.dialect.create_connect_args(again.url) == \
            eng.dialect.create_connect_args(eng.url)


# -- statements --------------------------------------------------------------------------

def test_text_with_bound_parameters(engine: sa.Engine, minter: Minter) -> None:
    with engine.connect() as conn:
        result = conn.execute(
            text(f"EXEC {PROCEDURE} Label=:label, RefreshToken=:rt, Count=:n"),
            {"label": "from-text", "rt": "rt-1", "n": 3})
        assert list(result.keys()) == OUTPUTS
        row = result.one()
    assert row._asdict() == {"AccessToken": "issued-rt-1", "Label": "from-text", "Count": 3}
    assert minter.last.inputs["RefreshToken"] == "rt-1"


def test_text_literals_with_colons_are_not_parameters(engine: sa.Engine,
                                                      minter: Minter) -> None:
    with engine.connect() as conn:
        conn.execute(text(f"EXEC {PROCEDURE} Label='http://h:1/x', [OAuthParam:prompt]='c'"))
    assert minter.last.inputs["Label"] == "http://h:1/x"
    assert minter.last.inputs.family("OAuthParam:") == {"prompt": "c"}


def test_exec_driver_sql(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        plain = conn.exec_driver_sql(f"EXEC {PROCEDURE} Label='plain'").one()
        qmark = conn.exec_driver_sql(f"EXEC {PROCEDURE} Label=?, RefreshToken=?",
                                     ("qmark", "rt-2")).one()
        named = conn.exec_driver_sql(f"EXEC {PROCEDURE} Label=@label",
                                     {"label": "named"}).one()
    assert plain.Label == "plain"
    assert (qmark.Label, qmark.AccessToken) == ("qmark", "issued-rt-2")
    assert named.Label == "named"


def test_errors_are_the_connectors_own(engine: sa.Engine) -> None:
    """SQLAlchemy's wrapper is also the connector's exception class, with its fields."""
    with engine.connect() as conn:
        with pytest.raises(cdata_oauth.OAuthError) as info:
            conn.execute(text(f"EXEC {PROCEDURE} Label='refuse'"))
        error = info.value
        assert isinstance(error, sa_exc.OperationalError)
        assert isinstance(error.orig, cdata_oauth.OAuthError)
        assert error.__cause__ is error.orig
        assert (error.error, error.status) == ("invalid_grant", 400)
        with pytest.raises(sa_exc.ProgrammingError) as bad:
            conn.execute(text("EXEC NoSuchProcedure"))
        assert isinstance(bad.value, cdata_oauth.ProgrammingError)
        assert "NoSuchProcedure" in str(bad.value)
        copy = pickle.loads(pickle.dumps(bad.value))
        assert isinstance(copy, cdata_oauth.ProgrammingError)


def test_secrets_masked_in_errors_and_logs(engine: sa.Engine,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """Bound parameters are left out of errors and SQLAlchemy's log lines; a literal
    secret in the statement is masked in the error (the echo log shows the statement as
    written, so secrets belong in parameters)."""
    engine.echo = True
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), engine.connect() as conn:
        conn.execute(text(f"EXEC {PROCEDURE} Label=:l, RefreshToken=:rt"),
                     {"l": "ok", "rt": "bound-secret-1"})
        with pytest.raises(cdata_oauth.OAuthError) as first:
            conn.execute(text(f"EXEC {PROCEDURE} Label=:l, RefreshToken=:rt"),
                         {"l": "refuse", "rt": "bound-secret-2"})
        with pytest.raises(cdata_oauth.OAuthError) as second:
            conn.exec_driver_sql(f"EXEC {PROCEDURE} 'refuse', 'literal-secret-3'")
        with pytest.raises(cdata_oauth.OAuthError) as third:
            conn.exec_driver_sql(f"EXEC {PROCEDURE} Label='refuse', RefreshToken='lit-4'")
    assert "RefreshToken=?" in caplog.text
    shown = caplog.text + str(first.value)
    for secret in ("bound-secret-1", "bound-secret-2"):
        assert secret not in shown
    assert "literal-secret-3" not in str(second.value) and "'refuse'" in str(second.value)
    assert "lit-4" not in str(third.value) and "RefreshToken='********'" in str(third.value)


# -- pooling -----------------------------------------------------------------------------

def test_pool_reuses_a_connection_after_an_error(location: str) -> None:
    eng = sa.create_engine(sa.URL.create("cdata_oauth", query={"Location": location}),
                           pool_size=1, max_overflow=0)
    with eng.connect() as conn:
        first = conn.connection.dbapi_connection
        with pytest.raises(sa_exc.DBAPIError):
            conn.execute(text("EXEC NoSuchProcedure"))
        assert conn.execute(text(f"EXEC {PROCEDURE} Label='same'")).one().Label == "same"
    with eng.connect() as conn:
        assert conn.connection.dbapi_connection is first
        assert conn.execute(text(f"EXEC {PROCEDURE} Label='again'")).one().Label == "again"


def test_pool_ping_replaces_a_closed_connection(location: str) -> None:
    eng = sa.create_engine(sa.URL.create("cdata_oauth", query={"Location": location}),
                           pool_size=1, max_overflow=0, pool_pre_ping=True)
    with eng.connect() as conn:
        first = conn.connection.dbapi_connection
        assert first is not None
        assert eng.dialect.do_ping(first) is True
    first.close()  # closed behind the pool's back: check-in already happened
    with eng.connect() as conn:
        second = conn.connection.dbapi_connection
        assert second is not first and not second.closed  # type: ignore[union-attr]
        assert conn.execute(text(f"EXEC {PROCEDURE} Label='new'")).one().Label == "new"


def test_closed_connection_is_a_disconnect_without_ping(location: str) -> None:
    eng = sa.create_engine(sa.URL.create("cdata_oauth", query={"Location": location}),
                           pool_size=1, max_overflow=0)
    with eng.connect() as conn:
        first = conn.connection.dbapi_connection
        assert first is not None
        first.close()
        with pytest.raises(sa_exc.DBAPIError) as info:
            conn.execute(text(f"EXEC {PROCEDURE} Label='x'"))
        assert info.value.connection_invalidated
        assert isinstance(info.value, cdata_oauth.InterfaceError)
    with eng.connect() as conn:
        assert conn.connection.dbapi_connection is not first
        assert conn.execute(text(f"EXEC {PROCEDURE} Label='back'")).one().Label == "back"


def test_commit_rollback_and_begin_are_harmless(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"EXEC {PROCEDURE} Label='in-tx'"))
    with engine.connect() as conn:
        conn.execute(text(f"EXEC {PROCEDURE} Label='x'"))
        conn.commit()
        conn.rollback()
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        assert auto.execute(text(f"EXEC {PROCEDURE} Label='auto'")).one().Label == "auto"


# -- inspection and Core ----------------------------------------------------------------

def test_inspection_lists_the_system_tables(engine: sa.Engine) -> None:
    insp = inspect(engine)
    assert insp.get_table_names() == sorted(SYSTEM_TABLES)
    assert insp.has_table("SYS_PROCEDURES") and not insp.has_table("accounts")
    with engine.connect() as conn:
        for name in SYSTEM_TABLES:
            columns = [c["name"] for c in insp.get_columns(name)]
            described = conn.exec_driver_sql(f"SELECT * FROM {name}").keys()
            assert columns == list(described)
    types = {c["name"]: c["type"] for c in insp.get_columns("sys_procedureparameters")}
    assert isinstance(types["IsRequired"], sa.Boolean)
    assert isinstance(types["ProcedureName"], sa.String)
    assert insp.get_schema_names() == [] and insp.get_view_names() == []
    assert insp.get_pk_constraint("sys_procedures")["constrained_columns"] == []
    assert insp.get_foreign_keys("sys_procedures") == []
    assert insp.get_indexes("sys_procedures") == []
    with pytest.raises(sa_exc.NoSuchTableError):
        insp.get_columns("accounts")


def test_core_select_on_sys_procedures(engine: sa.Engine) -> None:
    procs = sa.Table("sys_procedures", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        everything = conn.execute(sa.select(procs)).all()
        names = sorted(row.ProcedureName for row in everything)
        assert PROCEDURE in names and "GetOAuthAccessToken" in names
        query = (sa.select(procs.c.ProcedureName)
                 .where(procs.c.ProcedureName.like("%Token%"))
                 .order_by(procs.c.ProcedureName.desc()))
        matching = sorted((n for n in names if "Token" in n), reverse=True)
        assert conn.execute(query).scalars().all() == matching
        assert conn.execute(query.limit(2)).scalars().all() == matching[:2]
        assert conn.execute(query.limit(1).offset(1)).scalars().all() == matching[1:2]
        assert conn.execute(query.offset(1).fetch(1)).scalars().all() == matching[1:2]
        counted = conn.execute(sa.select(sa.func.count()).select_from(procs)).scalar()
        assert counted == len(names)
        params = sa.Table("sys_procedureparameters", sa.MetaData(), autoload_with=engine)
        modes = conn.execute(
            sa.select(params.c.AllowedValues)
            .where(params.c.ProcedureName == sa.bindparam("p"))
            .where(params.c.ColumnName == "AuthMode")
            .where(params.c.Direction == "input"), {"p": "GetOAuthAccessToken"}
        ).scalars().all()
        assert modes == ["APP,WEB"]
        assert conn.execute(
            sa.select(params.c.ColumnName).where(params.c.ProcedureName == sa.bindparam("p"))
            .where(params.c.Direction == "output"), {"p": PROCEDURE}).scalars().all() == OUTPUTS


# -- end to end through the OAuth 2.0 operation -------------------------------------------

def provider_engine(properties: Mapping[str, Any], **engine_kw: Any) -> sa.Engine:
    return sa.create_engine(semicolon_url(properties), **engine_kw)


def test_client_credentials_against_embedded_provider(embedded_provider: Any) -> None:
    eng = provider_engine(embedded_provider.connection_properties())
    assert embedded_provider.client_secret not in repr(eng)
    with eng.connect() as conn:
        row = conn.execute(text("EXEC GetOAuthAccessToken GrantType='CLIENT'")).one()
        token = row.OAuthAccessToken
        assert embedded_provider.is_access_token_valid(token)
        again = conn.exec_driver_sql("EXEC GetOAuthAccessToken GrantType=?", ("CLIENT",)).one()
        assert again.OAuthAccessToken != token
        assert embedded_provider.is_access_token_valid(again.OAuthAccessToken)


def test_refresh_with_bound_parameter_against_embedded_provider(fresh_provider: Any) -> None:
    eng = provider_engine(fresh_provider.connection_properties(
        User=fresh_provider.user, Password=fresh_provider.password))
    with eng.connect() as conn:
        first = conn.execute(text("EXEC GetOAuthAccessToken GrantType='PASSWORD'")).one()
        assert first.OAuthRefreshToken
        refreshed = conn.execute(text("EXEC RefreshOAuthAccessToken OAuthRefreshToken=:rt"),
                                 {"rt": first.OAuthRefreshToken}).one()
    assert fresh_provider.grant_counts["refresh_token"] == 1
    assert fresh_provider.is_access_token_valid(refreshed.OAuthAccessToken)
    assert refreshed.OAuthAccessToken != first.OAuthAccessToken


def test_provider_refusal_through_engine(embedded_provider: Any) -> None:
    eng = provider_engine(embedded_provider.connection_properties())
    with eng.connect() as conn:
        with pytest.raises(cdata_oauth.OAuthError) as info:
            conn.execute(text("EXEC RefreshOAuthAccessToken OAuthRefreshToken=:rt"),
                         {"rt": "not-a-real-refresh-token"})
        assert info.value.error == "invalid_grant"
        assert "not-a-real-refresh-token" not in str(info.value)
        row = conn.execute(text("EXEC GetOAuthAccessToken GrantType='CLIENT'")).one()
        assert embedded_provider.is_access_token_valid(row.OAuthAccessToken)


def test_client_credentials_against_npm_mock(oauth2_mock_server: Any) -> None:
    eng = provider_engine(oauth2_mock_server.connection_properties(), pool_pre_ping=True)
    with eng.connect() as conn:
        row = conn.execute(text("EXEC GetOAuthAccessToken GrantType=:g"),
                           {"g": "CLIENT"}).one()
    assert row.OAuthAccessToken.count(".") == 2  # the mock issues JWTs
    assert row.ExpiresIn and row.ExpiresIn > 0
