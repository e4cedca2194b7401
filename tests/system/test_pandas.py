"""pandas.read_sql over the connector: through a SQLAlchemy engine, through a
raw PEP 249 connection, with params=, and what a failing statement raises.

What pandas does with a failure (pandas 2/3): through an engine it raises
pandas.errors.DatabaseError whose direct cause is SQLAlchemy's wrapper, which the dialect
makes an instance of the connector's exception class too (its own cause and ``.orig`` is
the connector's original exception). Through a raw connection pandas catches only
sqlite3.Error, so the connector's exception reaches the caller unwrapped.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy import text

import cdata_oauth
from tests.system.test_sqlalchemy import (
    OUTPUTS,
    PROCEDURE,
    Minter,
    location,  # noqa: F401  (fixture)
    minter,  # noqa: F401  (fixture)
    semicolon_url,
)

DBAPI_WARNING = "pandas only supports SQLAlchemy connectable"


@pytest.fixture
def engine(location: str) -> Iterator[sa.Engine]:  # noqa: F811
    eng = sa.create_engine(sa.URL.create("cdata_oauth", query={"Location": location}))
    yield eng
    eng.dispose()


@pytest.fixture
def raw(location: str) -> Iterator[cdata_oauth.Connection]:  # noqa: F811
    conn = cdata_oauth.connect(Location=location)
    yield conn
    conn.close()


def read_raw(sql: str, conn: cdata_oauth.Connection, **kw: Any) -> pd.DataFrame:
    """pandas.read_sql on a PEP 249 connection, checking that pandas warns about it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = pd.read_sql(sql, conn, **kw)
    assert any(DBAPI_WARNING in str(w.message) for w in caught)
    return frame


def test_read_sql_with_engine(engine: sa.Engine) -> None:
    frame = pd.read_sql(f"EXEC {PROCEDURE} Label='one', RefreshToken='r1', Count=2", engine)
    assert list(frame.columns) == OUTPUTS
    assert frame.to_dict("records") == [{"AccessToken": "issued-r1", "Label": "one",
                                         "Count": 2}]


def test_read_sql_with_raw_connection(raw: cdata_oauth.Connection) -> None:
    frame = read_raw(f"EXEC {PROCEDURE} Label='two', RefreshToken='r2'", raw)
    assert list(frame.columns) == OUTPUTS
    assert frame.loc[0, "AccessToken"] == "issued-r2"
    assert frame.loc[0, "Label"] == "two"


def test_params_with_engine(engine: sa.Engine, minter: Minter) -> None:  # noqa: F811
    by_name = pd.read_sql(text(f"EXEC {PROCEDURE} Label=:label, RefreshToken=:rt"), engine,
                          params={"label": "named", "rt": "r3"})
    assert by_name.loc[0, "AccessToken"] == "issued-r3"
    assert minter.last.inputs["Label"] == "named"
    by_position = pd.read_sql(f"EXEC {PROCEDURE} Label=?, RefreshToken=?", engine,
                              params=("qmark", "r4"))
    assert by_position.loc[0, "AccessToken"] == "issued-r4"
    assert by_position.loc[0, "Label"] == "qmark"


def test_params_with_raw_connection(raw: cdata_oauth.Connection) -> None:
    by_position = read_raw(f"EXEC {PROCEDURE} Label=?, RefreshToken=?", raw,
                           params=("qmark", "r5"))
    assert by_position.loc[0, "AccessToken"] == "issued-r5"
    by_name = read_raw(f"EXEC {PROCEDURE} Label=@label, RefreshToken=@rt", raw,
                       params={"label": "at-name", "rt": "r6"})
    assert (by_name.loc[0, "Label"], by_name.loc[0, "AccessToken"]) == ("at-name", "issued-r6")


def test_system_tables_read_by_name_and_by_select(engine: sa.Engine,
                                                  raw: cdata_oauth.Connection) -> None:
    by_name = pd.read_sql("sys_procedures", engine)
    by_select = read_raw("SELECT * FROM sys_procedures ORDER BY ProcedureName", raw)
    assert by_name.sort_values("ProcedureName").reset_index(drop=True).equals(by_select)
    assert PROCEDURE in set(by_select["ProcedureName"])


def test_failing_statement_with_engine(engine: sa.Engine) -> None:
    with pytest.raises(pd.errors.DatabaseError) as info:
        pd.read_sql(f"EXEC {PROCEDURE} Label='refuse', RefreshToken=?", engine,
                    params=("bound-secret",))
    cause = info.value.__cause__
    assert isinstance(cause, cdata_oauth.OAuthError)
    assert isinstance(cause, sa.exc.DBAPIError)
    assert cause.error == "invalid_grant"
    assert isinstance(cause.orig, cdata_oauth.OAuthError) and cause.__cause__ is cause.orig
    assert "invalid_grant" in str(info.value)
    assert "bound-secret" not in str(info.value)


def test_failing_statement_with_raw_connection(raw: cdata_oauth.Connection) -> None:
    with pytest.raises(cdata_oauth.OAuthError) as info:
        read_raw(f"EXEC {PROCEDURE} Label='refuse'", raw)
    assert type(info.value) is cdata_oauth.OAuthError
    assert info.value.error == "invalid_grant"
    with pytest.raises(cdata_oauth.ProgrammingError):
        read_raw("EXEC NoSuchProcedure", raw)
    assert read_raw(f"EXEC {PROCEDURE} Label='after'", raw).loc[0, "Label"] == "after"


# -- end to end through the OAuth 2.0 operation -------------------------------------------

def test_token_frame_from_embedded_provider(embedded_provider: Any) -> None:
    eng = sa.create_engine(semicolon_url(embedded_provider.connection_properties()))
    frame = pd.read_sql(text("EXEC GetOAuthAccessToken GrantType=:g"), eng,
                        params={"g": "CLIENT"})
    assert len(frame) == 1
    assert list(frame.columns)[:4] == ["OAuthAccessToken", "OAuthTokenSecret",
                                       "OAuthRefreshToken", "ExpiresIn"]
    assert embedded_provider.is_access_token_valid(frame.loc[0, "OAuthAccessToken"])
    raw_conn = cdata_oauth.connect(**embedded_provider.connection_properties())
    try:
        raw_frame = read_raw("EXEC GetOAuthAccessToken GrantType=?", raw_conn,
                             params=("CLIENT",))
    finally:
        raw_conn.close()
    assert list(raw_frame.columns) == list(frame.columns)
    assert embedded_provider.is_access_token_valid(raw_frame.loc[0, "OAuthAccessToken"])


def test_refused_refresh_in_pandas_against_embedded_provider(embedded_provider: Any) -> None:
    eng = sa.create_engine(semicolon_url(embedded_provider.connection_properties()))
    with pytest.raises(pd.errors.DatabaseError) as info:
        pd.read_sql("EXEC RefreshOAuthAccessToken OAuthRefreshToken=?", eng,
                    params=("no-such-refresh-token",))
    assert isinstance(info.value.__cause__, cdata_oauth.OAuthError)
    assert info.value.__cause__.error == "invalid_grant"
    assert "no-such-refresh-token" not in str(info.value)


def test_token_frame_from_npm_mock(oauth2_mock_server: Any) -> None:
    eng = sa.create_engine(semicolon_url(oauth2_mock_server.connection_properties()))
    frame = pd.read_sql("EXEC GetOAuthAccessToken GrantType='CLIENT'", eng)
    assert len(frame) == 1 and frame.loc[0, "OAuthAccessToken"].count(".") == 2
