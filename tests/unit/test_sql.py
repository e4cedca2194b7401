"""The EXEC surface: statement variants, values as data, bad statements, the parse cache."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdata_oauth
from cdata_oauth.sql import parse as sql
from tests.core_support import Recorder


def declared(echo: Recorder) -> dict[str, Any]:
    """What the operation received for Echo's own inputs (A, B, N, OAuthParam:*)."""
    inputs = echo.last.inputs
    got = {name: inputs.get(name) for name in ("A", "B", "N")}
    got.update({"OAuthParam:" + k: v for k, v in inputs.family("OAuthParam:").items()})
    return got


# Each statement, with its parameters, must reach the operation as A='x', B='y', N=7.
SAME_CALL: list[tuple[str, Any]] = [
    ("EXEC Echo A='x', B='y', N=7", None),
    ("EXECUTE Echo A='x', B='y', N=7", None),
    ("exec echo a='x', b='y', n=7", None),
    ("ExEcUtE ECHO A = 'x' , B='y',N=7", None),
    ("EXEC Echo @A='x', @B='y', @N=7", None),
    ("EXEC Echo /* block\ncomment */ A='x', -- line comment\n B='y', N=7", None),
    ("EXEC Echo A='x', B='y', N=7;", None),
    ("EXEC Echo A='x', B='y', N=7; -- done", None),
    ("EXEC Echo A='x', B='y', N=7; /* end */", None),
    ("EXEC Echo A='x', B='y', N=7; -- one\n-- two\n", None),
    ("EXEC Echo A='x', B='y', N=7; /* a */ -- b", None),
    ("  \n EXEC Echo A='x', B='y', N=7 ;  \n", None),
    ("EXEC [Echo] [A]='x', [B]='y', [N]=7", None),
    ('EXEC "Echo" "A"=\'x\', "B"=\'y\', "N"=7', None),
    ("EXEC Echo N=7, B='y', A='x'", None),
    ("EXEC Echo 'x', 'y', 7", None),
    ("EXEC Echo 'x', 'y', N=7", None),
    ("EXEC Echo A=N'x', B='y', N='7'", None),
    ("EXEC Echo A=?, B=?, N=?", ("x", "y", 7)),
    ("EXEC Echo ?, ?, ?", ["x", "y", 7]),
    ("EXEC Echo A=@a, B=@b, N=@n", {"a": "x", "b": "y", "n": 7}),
    ("EXEC Echo A=@a, B=@B, N=@n", {"@A": "x", "b": "y", ":n": 7}),
    ("EXEC Echo A='x', B=@b, N=@n", {"b": "y", "n": 7}),
    ("EXEC Echo A='x', B='y', N=7, [OAuthParam:unused]=NULL", None),
]


@pytest.mark.parametrize(("statement", "params"), SAME_CALL)
def test_variants_bind_to_the_same_call(conn: cdata_oauth.Connection, echo: Recorder,
                                        statement: str, params: Any) -> None:
    conn.execute(statement, params)
    assert declared(echo) == {"A": "x", "B": "y", "N": 7}
    assert echo.last.script.name == "Echo"


def test_bracketed_wildcard_names(conn: cdata_oauth.Connection, echo: Recorder) -> None:
    cursor = conn.execute("EXEC Echo [OAuthParam:prompt] = 'consent', "
                          "\"OAuthParam:access_type\" = 'offline'")
    assert declared(echo)["OAuthParam:prompt"] == "consent"
    assert declared(echo)["OAuthParam:access_type"] == "offline"
    assert [d[0] for d in cursor.description or ()][-2:] == [
        "OAuthParam:access_type", "OAuthParam:prompt"]


def test_null_means_not_given(conn: cdata_oauth.Connection, echo: Recorder) -> None:
    conn.execute("EXEC Echo A=NULL, B=NULL")
    assert declared(echo) == {"A": None, "B": "b-default", "N": None}


LITERALS = [
    ("'it''s'", "it's"),
    ("''''", "'"),
    ("''", ""),
    ("'a;b=c'", "a;b=c"),
    ("'a\\'", "a\\"),
    ("N'ünïcödé'", "ünïcödé"),
    ("42", 42),
    ("-42", -42),
    ("0.5", 0.5),
    ("-2.5", -2.5),
    ("1e3", 1000.0),
    ("NULL", None),
    ("null", None),
]


@pytest.mark.parametrize(("literal", "value"), LITERALS)
def test_literals(literal: str, value: Any) -> None:
    call = sql.bind_call(sql.parse(f"EXEC P V={literal}"))  # type: ignore[arg-type]
    assert call.args == (("V", value),)
    assert type(call.args[0][1]) is type(value)


TRICKY_VALUES = [
    "x'; DROP TABLE t; --",
    "' OR 1=1 --",
    "EXEC Echo A='y'",
    "a;b;c",
    'say "hi"',
    "/* not a comment */",
    "-- not a comment",
    "line1\nline2\r\n\tend",
    "SELECT * FROM sys_procedures",
    "@a ? :b",
    "[bracket]]",
    "",
]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_values_reach_the_operation_unchanged(conn: cdata_oauth.Connection, echo: Recorder,
                                              value: str) -> None:
    conn.execute("EXEC Echo A=?", (value,))
    assert echo.last.inputs["A"] == value
    conn.execute("EXEC Echo A=@v", {"v": value})
    assert echo.last.inputs["A"] == value
    quoted = "'" + value.replace("'", "''") + "'"
    conn.execute(f"EXEC Echo A={quoted}, [OAuthParam:x]={quoted}")
    assert echo.last.inputs["A"] == value
    assert echo.last.inputs.family("OAuthParam:") == {"x": value}


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_TEXT)
def test_any_text_survives_as_parameter_and_literal(conn: cdata_oauth.Connection,
                                                    echo: Recorder, value: str) -> None:
    conn.execute("EXEC Echo A=?", (value,))
    assert echo.last.inputs["A"] == value
    conn.execute("EXEC Echo A='" + value.replace("'", "''") + "'")
    assert echo.last.inputs["A"] == value


# (statement, parameters, exception, words that the message must hold)
BAD: list[tuple[Any, Any, type[Exception], tuple[str, ...]]] = [
    ("EXEC Echo A=", None, cdata_oauth.ProgrammingError, ("line 1, column 12", "EXEC")),
    ("EXEC Echo\n  A='x'\n  WITH RECOMPILE", None, cdata_oauth.ProgrammingError,
     ("line 3, column", "WITH")),
    ("EXEC Echo A='x", None, cdata_oauth.ProgrammingError,
     ("quote", "line 1, column 13", "never closed")),
    ("EXEC Echo\n [A='x'", None, cdata_oauth.ProgrammingError,
     ("bracket", "line 2, column 2")),
    ("EXEC Echo A=1 /* open", None, cdata_oauth.ProgrammingError, ("comment", "never closed")),
    ("UPDATE t SET a=1", None, cdata_oauth.NotSupportedError,
     ("UPDATE", "not supported", "EXEC", "sys_procedures")),
    ("DELETE FROM t", None, cdata_oauth.NotSupportedError, ("DELETE", "EXEC")),
    ("INSERT INTO t VALUES (1)", None, cdata_oauth.NotSupportedError, ("INSERT", "EXEC")),
    ("DROP TABLE t", None, cdata_oauth.NotSupportedError, ("DROP", "EXEC")),
    ("CREATE TABLE t (a INT)", None, cdata_oauth.NotSupportedError, ("CREATE", "EXEC")),
    ("EXEC Echo A='x'; EXEC Echo A='y'", None, cdata_oauth.ProgrammingError,
     ("2 statements", "one statement")),
    ("EXEC Echo A='x'; SELECT * FROM sys_procedures", None, cdata_oauth.ProgrammingError,
     ("2 statements",)),
    ("EXEC Echo A='x'; /* and */ EXEC Echo A='y'", None, cdata_oauth.ProgrammingError,
     ("2 statements", "one statement")),
    ("EXEC Echo A='x'; -- and\nEXEC Echo A='y'; -- done", None, cdata_oauth.ProgrammingError,
     ("2 statements", "one statement")),
    ("-- nothing but a comment", None, cdata_oauth.ProgrammingError, ("empty", "EXEC")),
    ("; /* nothing */", None, cdata_oauth.ProgrammingError, ("empty",)),
    ("EXEC Echo A=?", (), cdata_oauth.ProgrammingError, ("1 ? placeholder", "0 parameter")),
    ("EXEC Echo A=?", None, cdata_oauth.ProgrammingError, ("1 ? placeholder", "0 parameter")),
    ("EXEC Echo A=?", ("x", "y"), cdata_oauth.ProgrammingError,
     ("1 ? placeholder", "2 parameter")),
    ("EXEC Echo A=?", {"A": "x"}, cdata_oauth.ProgrammingError, ("mapping", "sequence")),
    ("EXEC Echo A=?", "x", cdata_oauth.ProgrammingError, ("sequence", "str")),
    ("EXEC Echo A=@a", {}, cdata_oauth.ProgrammingError, ("No parameter given for @a",)),
    ("EXEC Echo A=@a, B=@b", {"a": 1}, cdata_oauth.ProgrammingError, ("@b",)),
    ("EXEC Echo A=@a", ("x",), cdata_oauth.ProgrammingError, ("@a", "mapping")),
    ("EXEC Echo A='x', A='y'", None, cdata_oauth.ProgrammingError,
     ("Input A of Echo is given twice",)),
    ("EXEC Echo A='x', @a='y'", None, cdata_oauth.ProgrammingError, ("given twice",)),
    ("EXEC Echo 'x', A='y'", None, cdata_oauth.ProgrammingError, ("given twice",)),
    ("EXEC Echo [OAuthParam:p]='x', [oauthparam:P]='y'", None, cdata_oauth.ProgrammingError,
     ("given twice",)),
    ("EXEC Echo A='x', 'y'", None, cdata_oauth.ProgrammingError,
     ("positional value follows a named",)),
    ("EXEC Echo A=b", None, cdata_oauth.ProgrammingError, ("literal, ? or @name",)),
    ("EXEC Echo A=UPPER('secret-ish')", None, cdata_oauth.ProgrammingError,
     ("literal, ? or @name",)),
    ("EXEC Echo A='x' B='y'", None, cdata_oauth.ProgrammingError, ("line 1, column",)),
    ("EXEC Echo A='x' 'y'", None, cdata_oauth.ProgrammingError, ("comma",)),
    ("EXEC Echo A='x' B", None, cdata_oauth.ProgrammingError, ("comma",)),
    ("EXEC dbo.Echo", None, cdata_oauth.ProgrammingError, ("schema", "EXEC Echo")),
    ("", None, cdata_oauth.ProgrammingError, ("empty", "EXEC")),
    (" ; ", None, cdata_oauth.ProgrammingError, ("empty",)),
    (42, None, cdata_oauth.ProgrammingError, ("str", "int")),
    ("EXEC Ecko", None, cdata_oauth.ProgrammingError,
     ("Unknown procedure 'Ecko'", "Did you mean Echo", "GetOAuthAccessToken")),
    ("EXEC Echo Z='x'", None, cdata_oauth.ProgrammingError,
     ("Echo has no input 'Z'", "A, B, N, OAuthParam:<name>")),
    ("EXEC Echo 'a', 'b', 3, 'd'", None, cdata_oauth.ProgrammingError,
     ("at most 3 positional",)),
    ("EXEC Echo N='seven'", None, cdata_oauth.DataError, ("Input N of Echo", "whole number")),
]


@pytest.mark.parametrize(("statement", "params", "error", "words"), BAD,
                         ids=[repr(b[0])[:40] for b in BAD])
def test_bad_statements(conn: cdata_oauth.Connection, echo: Recorder, statement: Any,
                        params: Any, error: type[Exception], words: tuple[str, ...]) -> None:
    with pytest.raises(error) as info:
        conn.execute(statement, params)
    for word in words:
        assert word in str(info.value)
    assert echo.calls == []


def test_error_messages_do_not_echo_quoted_values(conn: cdata_oauth.Connection) -> None:
    for statement in ("EXEC Echo A=UPPER('hunter2-secret')",
                      "EXEC Echo A='hunter2-secret' 'x'",
                      "EXEC Echo A='x' 'hunter2-secret' B='y'",
                      "EXEC Echo A='hunter2-secret' B='y'"):
        with pytest.raises(cdata_oauth.ProgrammingError) as info:
            conn.execute(statement)
        assert "hunter2" not in str(info.value), statement


def test_parse_cache_is_bounded() -> None:
    info = sql._parse_cached.cache_info()
    assert info.maxsize == sql.PARSE_CACHE_SIZE
    tag = uuid.uuid4().hex
    for index in range(sql.PARSE_CACHE_SIZE + 20):
        sql.parse(f"EXEC P A='{tag}', N={index}")
    assert sql._parse_cached.cache_info().currsize <= sql.PARSE_CACHE_SIZE


def test_repeated_statement_is_not_parsed_again(conn: cdata_oauth.Connection,
                                                echo: Recorder,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlglot.tokens import Tokenizer

    parses: list[str] = []
    real_tokenize = Tokenizer.tokenize

    def counting_tokenize(self: Tokenizer, text: str, *args: Any, **kwargs: Any) -> Any:
        parses.append(text)
        return real_tokenize(self, text, *args, **kwargs)

    monkeypatch.setattr(Tokenizer, "tokenize", counting_tokenize)
    statement = f"EXEC Echo A=?, B='{uuid.uuid4().hex}'"
    for value in ("one", "two", "three"):
        conn.execute(statement, (value,))
        assert echo.last.inputs["A"] == value
    assert parses == [statement]


def test_texts_that_differ_only_in_values_share_one_parse(conn: cdata_oauth.Connection,
                                                         echo: Recorder,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first text of a shape, sqlglot's parser is skipped, and each text still binds
    its own values: doubled quotes, N'' strings, negative numbers."""
    from sqlglot.parser import Parser

    parsed: list[str] = []
    real_parse = Parser.parse

    def counting_parse(self: Parser, raw_tokens: Any, sql: str) -> Any:
        parsed.append(sql)
        return real_parse(self, raw_tokens, sql)

    monkeypatch.setattr(Parser, "parse", counting_parse)
    wildcard = f"OAuthParam:w{uuid.uuid4().hex}"  # a name no other text had: a new shape
    values = [("it''s", "x", -3, "one"), ("o''k", "y", -40, "two"), ("plain", "z", -1, "three")]
    texts = [f"EXEC Echo A='{a}', B=N'{b}', N={n}, [{wildcard}]='{w}'" for a, b, n, w in values]
    for text, (a, b, n, w) in zip(texts, values, strict=True):
        conn.execute(text)
        inputs = echo.last.inputs
        assert (inputs["A"], inputs["B"], inputs["N"], inputs[wildcard]) == \
            (a.replace("''", "'"), b, n, w)
    assert parsed == texts[:1]


def test_a_comment_after_the_last_semicolon_is_not_a_statement() -> None:
    """What a client appends after the final ``;`` (a trailing comment) leaves one
    statement; the authorization URL is built from it."""
    with cdata_oauth.connect(OAuthVersion="2.0", OAuthClientId="client-1",
                             OAuthAuthorizationURL="https://login.example/authorize") as conn:
        for tail in ("; -- done", "; /* end */", ";\n-- done\n"):
            row = conn.execute(f"EXEC GetOAuthAuthorizationURL Scope='a'{tail}").fetchone()
            assert row is not None
            url = row[0]
            assert url.startswith("https://login.example/authorize?") and "scope=a" in url
        with pytest.raises(cdata_oauth.ProgrammingError, match="2 statements"):
            conn.execute("EXEC GetOAuthAuthorizationURL Scope='a'; -- one\n"
                         "EXEC GetOAuthAuthorizationURL Scope='b'; -- two")


def test_select_placeholders_bind_in_text_order(conn: cdata_oauth.Connection) -> None:
    """sqlglot keeps LIMIT before WHERE in its tree; ? must still bind left to right."""
    rows = conn.execute(
        "SELECT ProcedureName FROM sys_procedures WHERE ProcedureName LIKE ? "
        "ORDER BY ProcedureName LIMIT ?", ("Get%", 1)).fetchall()
    assert rows == [("GetOAuthAccessToken",)]


def test_unbracketed_wildcard_input_names_parse(conn: cdata_oauth.Connection,
                                                echo: Recorder) -> None:
    conn.execute("EXEC Echo OAuthParam:prompt='consent', @OAuthParam:login_hint = ?", ("me",))
    assert echo.last.inputs.family("OAuthParam:") == {"prompt": "consent", "login_hint": "me"}


def test_a_repeated_statement_gives_each_caller_its_own_family(conn: cdata_oauth.Connection,
                                                               echo: Recorder) -> None:
    """A repeated statement reuses its bound inputs; what one operation does to the
    OAuthParam: fields it was handed is not seen by the next run."""
    statement = f"EXEC Echo [OAuthParam:prompt]='consent', A='{uuid.uuid4().hex}'"
    conn.execute(statement)
    echo.last.inputs.family("OAuthParam:")["prompt"] = "changed"
    conn.execute(statement)
    assert echo.last.inputs.family("OAuthParam:") == {"prompt": "consent"}


@pytest.mark.parametrize(("text", "words"), [
    ("EXEC Echo a.b = 1", "'a.b' is not an input name"),
    ("EXEC dbo.Echo A='x'", "no schema prefix: write EXEC Echo"),
    ("EXEC db.dbo.Echo", "no schema prefix"),
    ("EXEC Echo A=1+2", "The value of A must be a literal"),
])
def test_what_is_not_a_call_is_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match=words.replace("(", r"\(")):
        sql.parse(text)


SECRET = "TOPSECRET-7Qx"


@pytest.mark.parametrize("text", [
    f"EXEC P A=('{SECRET}'",                   # sqlglot: Expecting )
    f"EXEC 'x' ; EXEC N'{SECRET}'",             # ... but got <Token NATIONAL_STRING ...>
    f"EXEC P A='a' B='{SECRET}' ('",            # a quote left open
    f'EXEC P OAuthClientSecret="{SECRET}"',     # a value in the wrong quotes
    f"EXEC P [{SECRET}]",
    f"EXEC P A=1+N'{SECRET}'",
    f"EXEC P A=1+\"{SECRET}\"",
    f"EXEC P A=0x{SECRET.encode().hex()}",
    f"EXEC P A={SECRET.encode().hex()[:6]}23 'x'",
    f"EXEC P '{SECRET}' = 1",                    # a value where a name belongs
    f'EXEC P "{SECRET}" . A = 1',
])
def test_a_refused_statement_never_shows_its_values(text: str) -> None:
    """Neither the message nor anything chained to it (a traceback prints both) holds a
    value, quoted or hex, or a name in quotes: it may be a secret in the wrong quotes."""
    with pytest.raises(cdata_oauth.ProgrammingError) as caught:
        sql.parse(text)
    shown = [str(caught.value), repr(caught.value.args)]
    cause = caught.value.__cause__ or (
        None if caught.value.__suppress_context__ else caught.value.__context__)
    assert cause is None
    for hidden in (SECRET, SECRET.encode().hex()[:6]):
        assert not any(hidden in s for s in shown), shown


@pytest.mark.parametrize(("text", "words"), [
    ('EXEC P OAuthClientSecret="x"', "OAuthClientSecret is a name in double quotes or "
                                     "brackets; T-SQL quotes a value with single quotes"),
    ("EXEC P [x]", "Value 1 is a name in double quotes"),
    ("EXEC P A=0xAB", "A is a binary literal"),
    ("EXECUTE 12", "near a number: Expected table name but got a number"),
    ("EXEC", "got the end of the statement"),
])
def test_a_refused_value_says_what_it_is_instead(text: str, words: str) -> None:
    with pytest.raises(cdata_oauth.ProgrammingError, match=words):
        sql.parse(text)


def test_every_kind_of_value_is_read_from_the_tree() -> None:
    """The usual ``Name = literal`` is read straight from sqlglot's nodes; every other form
    goes the general way, and both give the same slots."""
    template = sql.parse(f"EXEC P{uuid.uuid4().hex[:6]} [a b]=N'x', c=-2.5, d=TRUE, "
                         "e=NULL, f=@g, \"q\"=1, s='t', n=12")
    assert isinstance(template, sql.CallTemplate)
    assert [(name, tuple(slot)) for name, slot in template.args] == [
        ("a b", ("literal", "x")), ("c", ("literal", -2.5)), ("d", ("literal", True)),
        ("e", ("literal", None)), ("f", ("named", "g")), ("q", ("literal", 1)),
        ("s", ("literal", "t")), ("n", ("literal", 12))]
    assert template.literal_call is None  # @g must be bound per execution
    literal = sql.parse("EXEC P s='t', n=12, e=NULL")
    assert isinstance(literal, sql.CallTemplate) and literal.literal_call is not None
    assert literal.literal_call.args == (("s", "t"), ("n", 12), ("e", None))
    assert literal.literal_call.reusable


def test_a_call_repr_masks_its_values() -> None:
    template = sql.parse("EXEC P ?, OAuthClientSecret='s3cr3t-value'")
    assert "s3cr3t-value" not in repr(template)
    assert "s3cr3t-value" not in repr(sql.bind_call(sql.parse("EXEC P X='s3cr3t-value'")))
    assert "OAuthClientSecret" in repr(template)
