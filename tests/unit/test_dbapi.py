"""PEP 249 conformance of the module, Connection and Cursor.

Procedures run a test operation that echoes its inputs (tests/core_support.py), so
nothing here depends on the OAuth flows.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import cdata_oauth
from cdata_oauth.oauth import context as context_module
from cdata_oauth.transport.session import Transport
from tests.core_support import ECHO_OP, Recorder, echo_location, registered, row_dict

# -- module -------------------------------------------------------------------------------

def test_import_is_cheap() -> None:
    """Importing the package loads none of the heavy libraries; they load at first use."""
    code = ("import sys, cdata_oauth; heavy = ('sqlglot', 'requests', 'oauthlib', 'socks', "
            "'cryptography', 'sqlalchemy', 'defusedxml'); "
            "print(','.join(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_module_globals() -> None:
    assert cdata_oauth.apilevel == "2.0"
    assert cdata_oauth.threadsafety == 2
    assert cdata_oauth.paramstyle == "qmark"
    assert callable(cdata_oauth.connect)


EXCEPTION_TREE = [
    ("Warning", Exception), ("Error", Exception),
    ("InterfaceError", "Error"), ("DatabaseError", "Error"),
    ("DataError", "DatabaseError"), ("OperationalError", "DatabaseError"),
    ("IntegrityError", "DatabaseError"), ("InternalError", "DatabaseError"),
    ("ProgrammingError", "DatabaseError"), ("NotSupportedError", "DatabaseError"),
    ("OAuthError", "OperationalError"),
]


@pytest.mark.parametrize(("name", "parent"), EXCEPTION_TREE)
def test_exception_hierarchy(name: str, parent: type | str) -> None:
    cls = getattr(cdata_oauth, name)
    base = parent if isinstance(parent, type) else getattr(cdata_oauth, parent)
    assert issubclass(cls, base)


def test_warning_is_not_an_error() -> None:
    assert not issubclass(cdata_oauth.Warning, cdata_oauth.Error)


def test_type_objects_compare_to_their_codes() -> None:
    assert cdata_oauth.STRING == "STRING"
    assert cdata_oauth.NUMBER == "NUMBER"
    assert cdata_oauth.DATETIME == "DATETIME"
    assert cdata_oauth.BINARY == "BINARY"
    assert cdata_oauth.ROWID == "ROWID"
    assert cdata_oauth.STRING != "NUMBER"
    assert cdata_oauth.STRING != cdata_oauth.NUMBER
    assert "NUMBER" == cdata_oauth.NUMBER  # noqa: SIM300 - code == TYPE, reflected


def test_constructors() -> None:
    assert cdata_oauth.Date(2024, 1, 31) == datetime.date(2024, 1, 31)
    assert cdata_oauth.Time(12, 30, 5) == datetime.time(12, 30, 5)
    assert cdata_oauth.Timestamp(2024, 1, 31, 12, 30) == datetime.datetime(2024, 1, 31, 12, 30)
    ticks = 1_700_000_000
    local = datetime.datetime.fromtimestamp(ticks)
    assert cdata_oauth.DateFromTicks(ticks) == local.date()
    assert cdata_oauth.TimeFromTicks(ticks) == local.time().replace(microsecond=0)
    assert cdata_oauth.TimestampFromTicks(ticks) == local.replace(microsecond=0)
    assert cdata_oauth.Binary(b"\x00\x01") == b"\x00\x01"
    assert cdata_oauth.Binary("ab") == b"ab"


# -- connection ---------------------------------------------------------------------------

def test_connection_exception_attributes() -> None:
    conn = cdata_oauth.connect()
    for name, _ in EXCEPTION_TREE[:-1]:
        assert getattr(conn, name) is getattr(cdata_oauth, name)


def test_commit_and_rollback_are_noops(conn: cdata_oauth.Connection) -> None:
    assert conn.commit() is None
    assert conn.rollback() is None


def test_close_is_idempotent_and_use_after_close_raises(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    conn.close()
    conn.close()
    assert conn.closed
    for use in (conn.cursor, conn.commit, conn.rollback, lambda: conn.execute("EXEC Echo")):
        with pytest.raises(cdata_oauth.InterfaceError, match="closed"):
            use()
    with pytest.raises(cdata_oauth.InterfaceError, match="connection is closed"):
        cursor.execute("EXEC Echo")


def test_context_manager_closes(tmp_path: Path, echo: Recorder) -> None:
    with cdata_oauth.connect(Location=str(echo_location(tmp_path))) as conn:
        assert conn.execute("EXEC Echo A='in'").fetchone() == ("in", "b-default", None)
    assert conn.closed
    with pytest.raises(cdata_oauth.InterfaceError):
        conn.cursor()


def test_execute_shortcut_returns_a_cursor(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("EXEC Echo A=?", ("x",))
    assert isinstance(cursor, cdata_oauth.Cursor)
    assert cursor.connection is conn
    assert cursor.fetchall() == [("x", "b-default", None)]


# -- cursor -------------------------------------------------------------------------------

def test_cursor_state_before_any_result(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    assert cursor.description is None
    assert cursor.rowcount == -1
    assert cursor.arraysize == 1
    assert cursor.connection is conn
    for fetch in (cursor.fetchone, cursor.fetchall, cursor.fetchmany):
        with pytest.raises(cdata_oauth.ProgrammingError, match="execute a statement first"):
            fetch()


def test_execute_gives_description_rowcount_and_row(conn: cdata_oauth.Connection,
                                                     echo: Recorder) -> None:
    cursor = conn.cursor()
    assert cursor.execute("EXEC Echo A='x', N=5, [OAuthParam:prompt]='consent'") is cursor
    assert cursor.rowcount == 1
    description = cursor.description
    assert description is not None
    assert [d[0] for d in description] == ["A", "B", "N", "OAuthParam:prompt"]
    for column in description:
        assert len(column) == 7
        assert column[2:6] == (None, None, None, None)
    codes = {d[0]: d[1] for d in description}
    assert codes["A"] == cdata_oauth.STRING
    assert codes["N"] == cdata_oauth.NUMBER
    assert codes["N"] != cdata_oauth.STRING
    assert codes["OAuthParam:prompt"] == cdata_oauth.STRING
    assert cursor.fetchone() == ("x", "b-default", 5, "consent")
    assert cursor.fetchone() is None
    assert echo.last.inputs["A"] == "x"


def test_every_description_code_matches_one_type_object(conn: cdata_oauth.Connection) -> None:
    type_objects = [cdata_oauth.STRING, cdata_oauth.BINARY, cdata_oauth.NUMBER,
                    cdata_oauth.DATETIME, cdata_oauth.ROWID]
    for statement in ("EXEC Echo A='x', N=1", "SELECT * FROM sys_procedureparameters"):
        description = conn.execute(statement).description
        assert description is not None
        for column in description:
            assert sum(column[1] == t for t in type_objects) == 1, column


def test_result_columns_declared_first_then_extras_sorted(tmp_path: Path) -> None:
    def answer(invocation: object) -> dict[str, object]:
        return {"OAuthParam:zeta": 1, "n": "5", "OAuthParam:alpha": "a", "Unrelated": "x",
                "a": "from-op"}

    with registered(ECHO_OP, answer), \
            cdata_oauth.connect(Location=str(echo_location(tmp_path))) as conn:
        cursor = conn.execute("EXEC Echo")
        assert row_dict(cursor) == {"A": "from-op", "B": None, "N": 5,
                                    "OAuthParam:alpha": "a", "OAuthParam:zeta": 1}
        codes = [d[1] for d in cursor.description or ()]
        assert codes == ["STRING", "STRING", "NUMBER", "STRING", "NUMBER"]


def test_fetchmany_fetchall_and_iteration(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("SELECT ProcedureName FROM sys_procedures ORDER BY ProcedureName")
    names = [r[0] for r in conn.execute(
        "SELECT ProcedureName FROM sys_procedures ORDER BY ProcedureName").fetchall()]
    assert len(names) >= 4 and cursor.rowcount == len(names)
    assert cursor.fetchmany() == [(names[0],)]  # arraysize 1
    cursor.arraysize = 2
    assert cursor.fetchmany() == [(names[1],), (names[2],)]
    assert cursor.fetchmany(1) == [(names[3],)]
    assert [r[0] for r in cursor] == names[4:]
    assert cursor.fetchall() == []
    assert cursor.fetchmany(5) == []
    assert cursor.fetchone() is None


@pytest.mark.parametrize(("size", "arraysize", "named"), [
    ("2", 1, "size is '2'"), (-1, 1, "size is -1"), (True, 1, "size is True"),
    (None, 2.5, "arraysize is 2.5"), (None, -3, "arraysize is -3")])
def test_fetchmany_refuses_a_size_that_is_not_a_count(
        conn: cdata_oauth.Connection, size: Any, arraysize: Any, named: str) -> None:
    cursor = conn.execute("SELECT ProcedureName FROM sys_procedures")
    cursor.arraysize = arraysize
    with pytest.raises(cdata_oauth.ProgrammingError, match=f"fetchmany {re.escape(named)}"):
        cursor.fetchmany(size)
    assert len(cursor.fetchall()) == cursor.rowcount  # nothing was consumed


def test_failed_execute_leaves_no_result(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("EXEC Echo A='x'")
    with pytest.raises(cdata_oauth.ProgrammingError):
        cursor.execute("EXEC Echo Nope='x'")
    assert cursor.description is None
    assert cursor.rowcount == -1
    with pytest.raises(cdata_oauth.ProgrammingError):
        cursor.fetchone()


def test_executemany_keeps_every_row_in_order(conn: cdata_oauth.Connection,
                                              echo: Recorder) -> None:
    cursor = conn.cursor()
    cursor.executemany("EXEC Echo A=?, N=?", [("one", 1), ("two", 2), ("three", 3)])
    assert cursor.rowcount == 3
    assert cursor.fetchall() == [("one", "b-default", 1), ("two", "b-default", 2),
                                 ("three", "b-default", 3)]
    assert [c.inputs["A"] for c in echo.calls] == ["one", "two", "three"]


def test_executemany_with_named_parameters(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    cursor.executemany("EXEC Echo A=@a", [{"a": "x"}, {"@a": "y"}])
    assert [r[0] for r in cursor.fetchall()] == ["x", "y"]


def test_executemany_empty_runs_nothing_but_checks_the_statement(
        conn: cdata_oauth.Connection, echo: Recorder) -> None:
    cursor = conn.execute("EXEC Echo A='before'")
    cursor.executemany("EXEC Echo A=?", [])
    assert echo.calls[-1].inputs["A"] == "before"
    assert cursor.rowcount == -1 and cursor.description is None
    with pytest.raises(cdata_oauth.ProgrammingError, match="Syntax error"):
        cursor.executemany("EXEC Echo A=", [])


@pytest.mark.parametrize("sets", [5, "ab", b"ab", {"a": "x"}, None],
                         ids=lambda v: type(v).__name__)
def test_executemany_refuses_what_is_not_a_sequence_of_parameter_sets(
        conn: cdata_oauth.Connection, echo: Recorder, sets: Any) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError,
                       match=f"sequence .* of parameter sets.*not {type(sets).__name__}"):
        conn.cursor().executemany("EXEC Echo A=?", sets)
    assert echo.calls == []


def test_executemany_takes_an_iterator(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    cursor.executemany("EXEC Echo A=?", ((v,) for v in ("x", "y")))
    assert [r[0] for r in cursor.fetchall()] == ["x", "y"]


def test_callproc_with_mapping(conn: cdata_oauth.Connection, echo: Recorder) -> None:
    cursor = conn.cursor()
    params = {"A": "x", "@N": "7", "OAuthParam:scope_hint": "s"}
    assert cursor.callproc("Echo", params) == params
    assert cursor.rowcount == 1
    assert row_dict(cursor) == {"A": "x", "B": "b-default", "N": 7,
                                "OAuthParam:scope_hint": "s"}
    assert echo.last.inputs["N"] == 7


def test_callproc_with_sequence_uses_declared_order(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    assert cursor.callproc("Echo", ["a", "b", 3]) == ["a", "b", 3]
    assert cursor.fetchall() == [("a", "b", 3)]
    assert cursor.callproc("echo") == ()
    assert cursor.fetchone() == (None, "b-default", None)


def test_callproc_errors(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    with pytest.raises(cdata_oauth.ProgrammingError, match=r"Unknown procedure 'Ecko'.*Echo"):
        cursor.callproc("Ecko", {})
    with pytest.raises(cdata_oauth.ProgrammingError, match="mapping or a sequence"):
        cursor.callproc("Echo", "abc")  # type: ignore[arg-type]
    with pytest.raises(cdata_oauth.ProgrammingError, match="at most 3 positional"):
        cursor.callproc("Echo", [1, 2, 3, 4])


# -- parameter types: scalars are bound, anything else is refused naming the parameter -------

class _Colour(str, enum.Enum):
    RED = "red"


class _Level(enum.IntEnum):
    HIGH = 3


class _Index:
    """A whole number of another library, as numpy's int64: not an int, but has
    __index__."""

    def __index__(self) -> int:
        return 41


UNSUPPORTED = [[1, 2], (1,), {"a": 1}, {1}, object(), frozenset(), range(2)]


@pytest.mark.parametrize("value", UNSUPPORTED, ids=lambda v: type(v).__name__)
def test_a_parameter_of_an_unsupported_type_is_refused(conn: cdata_oauth.Connection,
                                                       echo: Recorder, value: Any) -> None:
    kind = type(value).__name__
    cursor = conn.cursor()
    refusals = [
        (lambda: cursor.execute("EXEC Echo A=?, B=?", ("ok", value)), "parameter 2"),
        (lambda: cursor.execute("EXEC Echo A='x', B=@b", {"b": value}), "@b"),
        (lambda: cursor.execute("SELECT ProcedureName FROM sys_procedures "
                                "WHERE ProcedureName = ?", (value,)), "parameter 1"),
        (lambda: cursor.callproc("Echo", {"A": "ok", "@B": value}), "@B"),
        (lambda: cursor.callproc("Echo", ["ok", value]), "parameter 2"),
    ]
    for attempt, label in refusals:
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            attempt()
        assert f"Error binding {label}: type '{kind}' is not supported" in str(info.value)
        assert "str, int, float, bool" in str(info.value)
    assert echo.calls == []


def test_a_list_scope_never_reaches_the_authorization_url() -> None:
    conn = cdata_oauth.connect(
        "OAuthVersion=2.0;AuthMode=WEB;OAuthClientId=app;"
        "OAuthAuthorizationURL=https://provider.example/authorize;"
        "CallbackURL=https://app.example/callback")
    with pytest.raises(cdata_oauth.ProgrammingError, match=r"parameter 1: type 'list'"):
        conn.execute("EXEC GetOAuthAuthorizationURL Scope=?", ([1, 2],))


@pytest.mark.parametrize(("value", "expected"), [
    ("text", "text"), (7, "7"), (2.5, "2.5"), (decimal.Decimal("1.25"), "1.25"),
    (None, None), (b"text", "text"), (bytearray(b"raw"), "raw"), (_Colour.RED, "red"),
    (_Level.HIGH, "3"), (_Index(), "41"),
])
def test_scalar_parameters_are_bound_as_their_values(conn: cdata_oauth.Connection,
                                                     echo: Recorder, value: Any,
                                                     expected: Any) -> None:
    """A (text) with each accepted type, by ?, by @name and by callproc: bytes are UTF-8
    text, an Enum binds its value, a number bound to a text input is its text."""
    conn.execute("EXEC Echo A=?", (value,))
    assert echo.last.inputs.get("A") == expected
    conn.execute("EXEC Echo A=@a", {"a": value})
    assert echo.last.inputs.get("A") == expected
    conn.cursor().callproc("Echo", [value])
    assert echo.last.inputs.get("A") == expected
    assert type(echo.last.inputs.get("A")) is type(expected)  # not an Enum, not bytes


def test_bytes_parameters_are_read_as_utf8_text(conn: cdata_oauth.Connection,
                                               echo: Recorder) -> None:
    conn.execute("EXEC Echo A=?, N=?", ("café".encode(), b"42"))
    assert echo.last.inputs["A"] == "café" and echo.last.inputs["N"] == 42


def test_bytes_that_are_not_utf8_are_refused_without_showing_them(
        conn: cdata_oauth.Connection, echo: Recorder) -> None:
    secret = b"hunter2\xff\xfe"
    for attempt in (lambda: conn.execute("EXEC Echo A=?", (secret,)),
                    lambda: conn.cursor().callproc("Echo", {"A": secret})):
        with pytest.raises(cdata_oauth.DataError) as info:
            attempt()
        message = str(info.value)
        assert "not UTF-8" in message and "at byte 7" in message
        assert "hunter2" not in message and "xff" not in message
    assert echo.calls == []


def test_setinputsizes_setoutputsize_accepted(conn: cdata_oauth.Connection) -> None:
    cursor = conn.cursor()
    assert cursor.setinputsizes([10, None]) is None
    assert cursor.setoutputsize(100) is None
    assert cursor.setoutputsize(100, 0) is None


def test_cursor_close(conn: cdata_oauth.Connection) -> None:
    cursor = conn.execute("EXEC Echo A='x'")
    cursor.close()
    cursor.close()
    for use in (cursor.fetchone, cursor.fetchall, lambda: cursor.execute("EXEC Echo"),
                lambda: cursor.callproc("Echo")):
        with pytest.raises(cdata_oauth.InterfaceError, match="Cursor is closed"):
            use()
    with conn.cursor() as other:
        other.execute("EXEC Echo")
    with pytest.raises(cdata_oauth.InterfaceError):
        other.fetchone()


def test_nextset_not_supported(conn: cdata_oauth.Connection) -> None:
    with pytest.raises(cdata_oauth.NotSupportedError, match="one result set"):
        conn.execute("EXEC Echo").nextset()


def test_unexpected_operation_failure_is_internal_error_without_secret(
        tmp_path: Path) -> None:
    def broken(invocation: object) -> dict[str, object]:
        raise KeyError("value s3cr3t-value leaked")

    with registered(ECHO_OP, broken):
        conn = cdata_oauth.connect(Location=str(echo_location(tmp_path)),
                                   OAuthClientSecret="s3cr3t-value")
        with pytest.raises(cdata_oauth.InternalError) as info:
            conn.execute("EXEC Echo")
    assert "s3cr3t-value" not in str(info.value)
    assert "report" in str(info.value)


# -- threads ------------------------------------------------------------------------------

def test_threads_sharing_a_connection_get_their_own_results(
        conn: cdata_oauth.Connection) -> None:
    """threadsafety 2: one connection, one cursor per thread, interleaved statements."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        try:
            cursor = conn.cursor()
            barrier.wait()
            for round_ in range(40):
                value = f"t{index}-r{round_}"
                cursor.execute("EXEC Echo A=?, N=?", (value, index * 1000 + round_))
                assert cursor.fetchall() == [(value, "b-default", index * 1000 + round_)]
                if round_ % 10:
                    continue
                cursor.execute("SELECT ColumnName FROM sys_procedureparameters "
                               "WHERE ProcedureName = ? AND Direction = 'input' "
                               "ORDER BY ColumnName LIMIT 1", ("Echo",))
                assert cursor.fetchall() == [("A",)]
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_each_thread_gets_its_own_transport_and_the_cache_is_bounded(
        conn: cdata_oauth.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[object] = []

    class CountingTransport(Transport):
        def close(self) -> None:
            closed.append(self)
            super().close()

    context = conn.context
    monkeypatch.setattr(context, "new_transport", CountingTransport)
    inputs = {"Timeout": 5}
    first = context.transport(inputs)
    assert context.transport(inputs) is first
    other: list[object] = []
    worker = threading.Thread(target=lambda: other.append(context.transport(inputs)))
    worker.start()
    worker.join()
    assert other[0] is not first
    # many distinct settings in one thread: the least recently used are closed
    limit = context_module.TRANSPORTS_PER_THREAD
    made = [context.transport({"Timeout": t}) for t in range(100, 100 + limit + 3)]
    assert first in closed
    assert all(t in closed for t in made[:-limit])
    assert not any(t in closed for t in made[-limit:])
    assert context.transport({"Timeout": 100 + limit + 2}) is made[-1]
    # the finished worker's transport is closed when another thread arrives
    assert other[0] not in closed
    late = threading.Thread(target=lambda: context.transport(inputs))
    late.start()
    late.join()
    assert other[0] in closed
    conn.close()
    assert all(t in closed for t in made[-limit:])
