"""The read-only system tables sys_procedures and sys_procedureparameters, via SELECT."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

import cdata_oauth
from cdata_oauth.catalog.lookup import builtin_scripts
from tests.core_support import ECHO_OP, Recorder, echo_location, registered


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[cdata_oauth.Connection]:
    with registered(ECHO_OP, Recorder()), \
            cdata_oauth.connect(Location=str(echo_location(tmp_path))) as connection:
        yield connection


def test_sys_procedures(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("SELECT * FROM sys_procedures ORDER BY ProcedureName")
    assert [d[0] for d in cursor.description or ()] == ["ProcedureName", "Description"]
    rows = cursor.fetchall()
    expected = sorted(["Echo", *(s.name for s in builtin_scripts().values())])
    assert [r[0] for r in rows] == expected
    assert {"GetOAuthAccessToken", "GetOAuthAuthorizationURL",
            "RefreshOAuthAccessToken", "GetOAuthDeviceCode"} <= set(expected)
    assert dict(rows)["Echo"] == "Echo for tests"
    assert cursor.rowcount == len(expected)


def test_sys_procedureparameters_columns_and_rows(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("SELECT * FROM sys_procedureparameters WHERE ProcedureName = 'Echo'")
    assert [d[0] for d in cursor.description or ()] == [
        "ProcedureName", "ColumnName", "Direction", "DataType", "IsRequired", "DefaultValue",
        "AllowedValues", "Description"]
    rows = {(r[1], r[2]): r for r in cursor.fetchall()}
    assert set(rows) == {("A", "input"), ("B", "input"), ("N", "input"),
                         ("OAuthParam:*", "input"), ("A", "output"), ("B", "output"),
                         ("N", "output"), ("OAuthParam:*", "output")}
    assert rows["B", "input"][5] == "b-default"
    assert rows["N", "input"][3] == "int"
    assert rows["A", "input"][7] == "first input"


def test_where_order_by_limit_and_qmark(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute(
        "SELECT ColumnName, AllowedValues FROM sys_procedureparameters "
        "WHERE ProcedureName = ? AND Direction = ? AND AllowedValues IS NOT NULL "
        "ORDER BY ColumnName DESC LIMIT 2", ("GetOAuthAccessToken", "input"))
    rows = cursor.fetchall()
    assert len(rows) == 2
    assert rows == sorted(rows, reverse=True)
    every = conn.execute(
        "SELECT ColumnName, AllowedValues FROM sys_procedureparameters "
        "WHERE ProcedureName = 'GetOAuthAccessToken' AND Direction = 'input' "
        "AND AllowedValues IS NOT NULL ORDER BY ColumnName DESC").fetchall()
    assert rows == every[:2]
    assert {"CODE", "PASSWORD", "CLIENT", "REFRESH", "DEVICE", "JWT", "TOKENEXCHANGE"} <= set(
        dict(every)["GrantType"].split(","))


REQUIRED_PROC = "NeedsOne"


def test_required_inputs_are_discoverable(tmp_path: Path) -> None:
    folder = echo_location(tmp_path)
    (folder / f"{REQUIRED_PROC}.rsb").write_text(
        '<api:script xmlns:api="http://apiscript.com/ns?v1"><api:info title="x">'
        '<input name="Must" required="true"/><input name="May"/><output name="Out"/>'
        f'</api:info><api:call op="{ECHO_OP}"><api:push/></api:call></api:script>')
    with registered(ECHO_OP, Recorder()), \
            cdata_oauth.connect(Location=str(folder)) as conn:
        _check_required_and_outputs(conn)


def _check_required_and_outputs(conn: cdata_oauth.Connection) -> None:
    rows = conn.execute("SELECT ProcedureName, ColumnName FROM sys_procedureparameters "
                        "WHERE IsRequired = TRUE ORDER BY ProcedureName").fetchall()
    assert rows == [(REQUIRED_PROC, "Must")]
    outputs = conn.execute("select columnname from SYS_PROCEDUREPARAMETERS where "
                           "procedurename = 'GetOAuthAuthorizationURL' and "
                           "direction = 'output'").fetchall()
    assert ("URL",) in outputs


def test_aggregates_and_case_insensitive_names(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("select procedurename, count(*) as n from sys_procedureparameters "
                          "group by procedurename order by procedurename")
    assert cursor.description is not None
    assert [d[0] for d in cursor.description] == ["ProcedureName", "n"]
    counts = dict(cursor.fetchall())
    assert counts["Echo"] == 8
    assert cursor.description[1][1] == cdata_oauth.NUMBER


@pytest.mark.parametrize(("statement", "words"), [
    ("SELECT * FROM users", ("users is not one", "sys_procedures", "EXEC")),
    ("SELECT 1", ("FROM", "sys_procedureparameters", "EXEC")),
    ("SELECT p.ProcedureName FROM sys_procedures p JOIN secrets s ON p.ProcedureName = s.x",
     ("secrets is not one",)),
    ("SELECT * FROM main.tokens", ("tokens",)),
])
def test_select_from_anything_else_is_not_supported(conn: cdata_oauth.Connection,
                                                    statement: str,
                                                    words: tuple[str, ...]) -> None:
    with pytest.raises(cdata_oauth.NotSupportedError) as info:
        conn.execute(statement)
    for word in words:
        assert word in str(info.value)


def test_bad_select_on_a_system_table(conn: cdata_oauth.Connection) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        conn.execute("SELECT NoSuchColumn FROM sys_procedures")
    assert "Cannot run the SELECT" in str(info.value)
    assert "column names" in str(info.value)
    with pytest.raises(cdata_oauth.ProgrammingError, match="1 \\? placeholder"):
        conn.execute("SELECT * FROM sys_procedures WHERE ProcedureName = ?")


@pytest.mark.parametrize("statement", [
    "SELECT * FROM sys_procedures WHERE ProcedureName = 'TOPSECRET-4k' + 1",
    "SELECT ProcedureName / 'TOPSECRET-4k' FROM sys_procedures",
])
def test_a_select_that_fails_to_run_chains_nothing_that_quotes_it(
        conn: cdata_oauth.Connection, statement: str) -> None:
    """sqlglot's executor runs generated code whose frames quote the expression; a printed
    traceback must not show them."""
    with pytest.raises(cdata_oauth.ProgrammingError) as info:
        conn.execute(statement)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "TOPSECRET-4k" not in "".join(traceback.format_exception(info.value))
    assert "Cannot run the SELECT" in str(info.value)
