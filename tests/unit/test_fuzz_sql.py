"""Property-based tests of the SQL surface: whatever the text, the outcome is a row or a
PEP 249 exception with a message, and values are data that reach the operation unchanged."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdata_oauth
from cdata_oauth.oauth.operations import register_operation, unregister_operation

EXAMPLES = int(os.environ.get("CDATA_OAUTH_FUZZ_EXAMPLES", "600"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

ECHO_SCRIPT = """<api:script xmlns:api="http://apiscript.com/ns?v1">
  <api:info title="Echo" desc="Returns what it was given.">
    <input name="A" desc="first"/>
    <input name="B" desc="second"/>
    <input name="C" desc="third"/>
    <input name="OAuthParam:*" desc="extras"/>
    <output name="A" desc="first"/>
    <output name="B" desc="second"/>
    <output name="C" desc="third"/>
    <output name="OAuthParam:*" desc="extras"/>
  </api:info>
  <api:call op="fuzzEcho"><api:push/></api:call>
</api:script>
"""


def _echo(invocation: Any) -> dict[str, Any]:
    inputs = invocation.inputs
    out = {name: inputs.get(name) for name in ("A", "B", "C")}
    out.update({f"OAuthParam:{k}": v for k, v in inputs.family("OAuthParam:").items()})
    return out


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cdata_oauth.Connection]:
    folder: Path = tmp_path_factory.mktemp("fuzz_scripts")
    (folder / "Echo.rsb").write_text(ECHO_SCRIPT)
    register_operation("fuzzEcho", _echo)
    connection = cdata_oauth.connect(Location=str(folder))
    yield connection
    connection.close()
    unregister_operation("fuzzEcho")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _run(conn: cdata_oauth.Connection, sql: str, params: Any = None) -> None:
    """Run a statement; only a PEP 249 exception with a non-empty message may come out."""
    try:
        conn.cursor().execute(sql, params)
    except cdata_oauth.Error as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message for {sql!r}"


# Text that SQL treats specially, to make the generator reach for it often.
SQL_BITS = st.sampled_from(["'", "''", ";", "--", "/*", "*/", "DROP TABLE x", "EXEC", "?",
                            "@p", "[", "]", '"', "=", ",", "\n", "\x00", "SELECT 1", "\\"])
NASTY_TEXT = st.lists(st.one_of(st.text(max_size=8), SQL_BITS), max_size=8).map("".join)


@FUZZ
@given(text=st.one_of(st.text(max_size=80), NASTY_TEXT))
def test_any_text_gives_a_row_or_a_pep249_error(conn: cdata_oauth.Connection, text: str) -> None:
    _run(conn, text)


@FUZZ
@given(tail=NASTY_TEXT)
def test_exec_followed_by_junk_gives_a_row_or_a_pep249_error(
        conn: cdata_oauth.Connection, tail: str) -> None:
    _run(conn, "EXEC Echo " + tail)
    _run(conn, "EXEC Echo A = " + tail)
    _run(conn, "SELECT * FROM sys_procedures WHERE " + tail)


@FUZZ
@given(a=NASTY_TEXT, b=NASTY_TEXT)
def test_quoted_literals_reach_the_operation_unchanged(
        conn: cdata_oauth.Connection, a: str, b: str) -> None:
    if "\x00" in a + b:
        return  # NUL cannot appear in SQL text; the placeholder test covers it
    row = conn.cursor().execute(f"EXEC Echo A = {_quote(a)}, @B = {_quote(b)}").fetchone()
    assert row is not None
    assert row[:2] == (a, b)


@FUZZ
@given(a=NASTY_TEXT, b=st.one_of(NASTY_TEXT, st.integers(), st.none()), c=NASTY_TEXT)
def test_placeholder_values_are_data_never_sql(
        conn: cdata_oauth.Connection, a: str, b: Any, c: str) -> None:
    cursor = conn.cursor()
    row = cursor.execute("EXEC Echo A = ?, B = ?, C = ?", (a, b, c)).fetchone()
    assert row is not None
    expected_b = None if b is None else str(b)
    assert row[:3] == (a, expected_b, c)
    named = cursor.execute("EXEC Echo @A = @x, @C = @y", {"x": a, "@y": c}).fetchone()
    assert named is not None and named[0] == a and named[2] == c


@FUZZ
@given(field=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True), value=NASTY_TEXT)
def test_wildcard_inputs_become_columns(
        conn: cdata_oauth.Connection, field: str, value: str) -> None:
    cursor = conn.cursor()
    cursor.execute(f"EXEC Echo [OAuthParam:{field}] = ?", (value,))
    assert cursor.description is not None
    names = [d[0] for d in cursor.description]
    assert names[-1] == f"OAuthParam:{field}"
    row = cursor.fetchone()
    assert row is not None and row[-1] == value


@FUZZ
@given(params=st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=4),
                        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
                        st.integers(), st.text(max_size=5), st.binary(max_size=5)))
def test_wrong_parameters_are_programming_errors(
        conn: cdata_oauth.Connection, params: Any) -> None:
    statement = "EXEC Echo A = ?, B = ?"
    ok = isinstance(params, list) and len(params) == 2
    try:
        conn.cursor().execute(statement, params)
    except cdata_oauth.ProgrammingError as exc:
        assert not ok, f"valid parameters {params!r} were refused: {exc}"
        assert "parameter" in str(exc).lower() or "placeholder" in str(exc).lower()
    else:
        assert ok, f"{params!r} was accepted for two ? placeholders"
