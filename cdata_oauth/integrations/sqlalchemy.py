"""The SQLAlchemy 2.x dialect ``cdata_oauth``, so that engines, pools and pandas can run
the procedures: ``create_engine("cdata_oauth:///?OAuthVersion=2.0;OAuthClientId=...")``.

The URL query is a connection string: ``&`` or ``;`` separate properties, names are
case-insensitive and quotes protect a ``;`` inside a value. The URL's user and password,
when given, are ``OAuthClientId`` and ``OAuthClientSecret`` (SQLAlchemy masks the password).
Loaded only through the ``sqlalchemy.dialects`` entry point, never by ``import cdata_oauth``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, types
from sqlalchemy.engine import URL, default
from sqlalchemy.exc import CompileError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.sql import compiler

import cdata_oauth
from cdata_oauth import exceptions as dbapi_errors
from cdata_oauth.config.properties import (
    ConnectionProperties,
    lookup_property,
    parse_connection_string,
)
from cdata_oauth.dbapi.systables import SYSTEM_TABLES
from cdata_oauth.redaction import MASK, is_secret_name, scrub
from cdata_oauth.sql import parse as sql

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.interfaces import ConnectArgsType, ExceptionContext

    from cdata_oauth.dbapi.connection import Connection as DBAPIConnection

__all__ = ["CDataOAuthCompiler", "CDataOAuthDialect", "url_properties"]

PING_STATEMENT = "SELECT COUNT(*) AS n FROM sys_procedures"


def url_properties(url: URL) -> dict[str, str]:
    """The connection properties a URL names, by canonical name; ProgrammingError if one
    is unknown, given twice, or the URL has a host or database part."""
    if url.host or url.port or url.database:
        raise dbapi_errors.ProgrammingError(
            "A cdata_oauth URL has no host, port or database: write the properties after "
            "'?', as in cdata_oauth:///?OAuthVersion=2.0;OAuthClientId=...")
    pairs: list[tuple[str, str]] = []
    if url.username:
        pairs.append(("OAuthClientId", url.username))
    if url.password:
        pairs.append(("OAuthClientSecret", str(url.password)))
    for key, value in url.query.items():
        for item in (value,) if isinstance(value, str) else value:
            pairs.extend(_query_item(key, item))
    found: dict[str, str] = {}
    for name, value in pairs:
        canonical = lookup_property(name).name
        if canonical in found:
            raise dbapi_errors.ProgrammingError(
                f"Connection property {canonical} is given twice in the URL (the URL's "
                "user and password are OAuthClientId and OAuthClientSecret).")
        found[canonical] = value
    return found


def _query_item(key: str, value: str) -> list[tuple[str, str]]:
    """One decoded ``key=value`` of the query, read with the connection-string rules.

    SQLAlchemy splits the query on ``&`` only, so the commercial ``;`` form arrives as one
    value holding further ``Name=Value`` pairs. Those are split only when every further
    name is a known property; otherwise (a URL-encoded secret such as ``p%3Bw``) the
    value is taken as it is.
    """
    try:
        pairs = parse_connection_string(f"{key}={value}")
        for name, _ in pairs[1:]:
            lookup_property(name)
    except dbapi_errors.ProgrammingError:
        return [(key.strip(), value)]
    return pairs


class _MaskedURL(URL):
    """The engine's URL, shown with every secret property masked, not only the password.

    ``render_as_string(hide_password=False)`` still gives the URL exactly as written.
    """

    __slots__ = ()

    def render_as_string(self, hide_password: bool = True) -> str:
        if not hide_password:
            return URL.render_as_string(self, hide_password=False)
        query: dict[str, str | list[str]] = {}
        for key, value in self.query.items():
            for item in (value,) if isinstance(value, str) else value:
                for name, text in _query_item(key, item):
                    shown = MASK if is_secret_name(name) and text else text
                    previous = query.get(name)
                    if previous is None:
                        query[name] = shown
                    else:
                        query[name] = [*([previous] if isinstance(previous, str) else previous),
                                       shown]
        plain = URL.create(self.drivername, self.username, self.password, self.host,
                           self.port, self.database, query)
        return URL.render_as_string(plain, hide_password=True)

    def __repr__(self) -> str:
        return self.render_as_string()

    def __str__(self) -> str:
        return self.render_as_string()


class CDataOAuthCompiler(compiler.SQLCompiler):
    """SQL the connector's sqlglot (T-SQL) reader runs: LIMIT and OFFSET are written as
    numbers, because the reader binds ``?`` in tree order, which puts LIMIT first."""

    def limit_clause(self, select: Any, **kw: Any) -> str:
        return self._rows(select._limit_clause, select._offset_clause, kw)

    def fetch_clause(self, select: Any, fetch_clause: Any = None, require_offset: bool = False,
                     use_literal_execute_for_simple_int: bool = False, **kw: Any) -> str:
        """``fetch(n)`` is written as LIMIT: the reader's executor runs no FETCH clause."""

        if fetch_clause is None:
            options = select._fetch_clause_options or {}
            if options.get("percent") or options.get("with_ties"):
                raise CompileError("fetch() with percent or with_ties is not supported by "
                                   "cdata_oauth; use limit(n).")
            fetch_clause = select._fetch_clause
        return self._rows(fetch_clause, select._offset_clause, kw)

    def _rows(self, limit: Any, offset: Any, kw: dict[str, Any]) -> str:
        kw["literal_execute"] = True  # numbers in the text, still one cached statement
        text = ""
        if limit is not None:
            text += "\n LIMIT " + self.process(limit, **kw)
        if offset is not None:
            text += " OFFSET " + self.process(offset, **kw)
        return text


_TYPES: dict[type, type[types.TypeEngine[Any]]] = {
    bool: types.Boolean,
    int: types.Integer,
    float: types.Float,
}


class CDataOAuthDialect(default.DefaultDialect):
    """SQLAlchemy dialect over the ``cdata_oauth`` PEP 249 module.

    Procedures take effect when they run, so the dialect is always in autocommit:
    commit and rollback do nothing, which is what pool check-in needs.
    """

    name = "cdata_oauth"
    driver = "cdata_oauth"
    default_paramstyle = "qmark"
    supports_statement_cache = True
    statement_compiler = CDataOAuthCompiler
    supports_native_boolean = True
    supports_alter = False
    supports_sequences = False
    supports_default_values = False
    supports_empty_insert = False
    supports_multivalues_insert = False
    supports_sane_rowcount = False
    supports_sane_multi_rowcount = False
    supports_server_side_cursors = False
    postfetch_lastrowid = False

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        return cdata_oauth

    @classmethod
    def engine_created(cls, engine: Engine) -> None:
        """Keep secrets out of what the engine shows: the URL's secret properties are
        masked in ``repr``/``str``, and statement parameters (tokens, codes) are left out
        of log lines and error messages."""
        engine.url = _MaskedURL(*engine.url)
        engine.hide_parameters = True
        event.listen(engine, "handle_error", _connector_error)

    def create_connect_args(self, url: URL) -> ConnectArgsType:
        properties = url_properties(url)
        ConnectionProperties(properties)  # a bad name or value fails at create_engine
        return [], dict(properties)

    # -- transactions and pooling ------------------------------------------------------

    def do_begin(self, dbapi_connection: Any) -> None:
        """Nothing to begin."""

    def do_rollback(self, dbapi_connection: Any) -> None:
        """Nothing to roll back; also safe on a closed connection at pool check-in."""

    def do_commit(self, dbapi_connection: Any) -> None:
        """Nothing to commit: a procedure takes effect when it runs."""

    def get_isolation_level_values(self, dbapi_conn: Any) -> Sequence[Any]:
        return ["AUTOCOMMIT"]

    def get_isolation_level(self, dbapi_connection: Any) -> Any:
        return "AUTOCOMMIT"

    def set_isolation_level(self, dbapi_connection: Any, level: Any) -> None:
        """Only AUTOCOMMIT exists; SQLAlchemy checks the name before calling this."""

    def do_ping(self, dbapi_connection: Any) -> bool:
        """A cheap statement that fails on a closed connection (no network is involved)."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(PING_STATEMENT)
            cursor.fetchall()
        finally:
            cursor.close()
        return True

    def is_disconnect(self, e: Any, connection: Any, cursor: Any) -> bool:
        """A closed connection is a disconnect: the pool replaces it."""
        if not isinstance(e, dbapi_errors.InterfaceError):
            return False
        raw = getattr(connection, "dbapi_connection", connection)
        if raw is not None and getattr(raw, "closed", False):
            return True
        return "connection is closed" in str(e).lower()

    # -- reflection over the system tables -----------------------------------------------

    def _known_table(self, table_name: str, schema: str | None) -> str | None:
        key = table_name.lower()
        return key if schema is None and key in SYSTEM_TABLES else None

    def has_table(self, connection: Any, table_name: str, schema: str | None = None,
                  **kw: Any) -> bool:
        return self._known_table(table_name, schema) is not None

    def get_table_names(self, connection: Any, schema: str | None = None,
                        **kw: Any) -> list[str]:
        return sorted(SYSTEM_TABLES) if schema is None else []

    def get_columns(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[Any]:
        key = self._known_table(table_name, schema)
        if key is None:
            raise NoSuchTableError(table_name)
        raw: DBAPIConnection = connection.connection.dbapi_connection
        columns, rows = SYSTEM_TABLES[key](raw)
        return [{"name": name, "type": _column_type(row[i] for row in rows)(),
                 "nullable": True, "default": None}
                for i, name in enumerate(columns)]

    def get_schema_names(self, connection: Any, **kw: Any) -> list[str]:
        return []

    def get_view_names(self, connection: Any, schema: str | None = None,
                       **kw: Any) -> list[str]:
        return []

    def get_temp_table_names(self, connection: Any, schema: str | None = None,
                             **kw: Any) -> list[str]:
        return []

    def get_temp_view_names(self, connection: Any, schema: str | None = None,
                            **kw: Any) -> list[str]:
        return []

    def get_sequence_names(self, connection: Any, schema: str | None = None,
                           **kw: Any) -> list[str]:
        return []

    def get_pk_constraint(self, connection: Any, table_name: str,
                          schema: str | None = None, **kw: Any) -> Any:
        return {"constrained_columns": [], "name": None}

    def get_foreign_keys(self, connection: Any, table_name: str, schema: str | None = None,
                         **kw: Any) -> list[Any]:
        return []

    def get_indexes(self, connection: Any, table_name: str, schema: str | None = None,
                    **kw: Any) -> list[Any]:
        return []

    def get_unique_constraints(self, connection: Any, table_name: str,
                               schema: str | None = None, **kw: Any) -> list[Any]:
        return []

    def get_check_constraints(self, connection: Any, table_name: str,
                              schema: str | None = None, **kw: Any) -> list[Any]:
        return []

    def get_table_comment(self, connection: Any, table_name: str, schema: str | None = None,
                          **kw: Any) -> Any:
        return {"text": None}

    def get_view_definition(self, connection: Any, view_name: str,
                            schema: str | None = None, **kw: Any) -> str:
        raise NoSuchTableError(view_name)


def _column_type(values: Iterable[Any]) -> type[types.TypeEngine[Any]]:
    """The SQLAlchemy type of a system-table column, from its first non-NULL value."""
    sample = next((v for v in values if v is not None), None)
    return _TYPES.get(type(sample), types.String)


_BOTH: dict[tuple[type[Exception], type[Exception]], type[Exception]] = {}


def _both(sa_class: type[Exception], connector_class: type[Exception]) -> type[Exception]:
    """An exception class that is both SQLAlchemy's wrapper and the connector's error.

    It is published in this module under the connector class's name (SQLAlchemy always
    pairs one connector class with the same wrapper), so that the error pickles.
    """
    both = _BOTH.get((sa_class, connector_class))
    if both is None:
        name = connector_class.__name__
        both = type(name, (sa_class, connector_class), {"__module__": __name__,
                                                         "__qualname__": name})
        _BOTH[(sa_class, connector_class)] = both
        globals().setdefault(name, both)
    return both


def _connector_error(context: ExceptionContext) -> BaseException | None:
    """Make SQLAlchemy's error also an instance of the connector's error, so that
    ``except cdata_oauth.OAuthError`` works through an engine (and pandas' wrapper has
    the connector's error as its direct cause), with the fields (``error``, ...) copied;
    and mask secret literals of the statement in the message."""
    original = context.original_exception
    wrapped = context.sqlalchemy_exception
    if wrapped is None or not isinstance(original, dbapi_errors.Error):
        return None
    if not isinstance(wrapped, type(original)):
        wrapped.__class__ = _both(type(wrapped), type(original))  # type: ignore[assignment]
    for key, value in vars(original).items():
        vars(wrapped).setdefault(key, value)
    statement = context.statement
    if statement is not None:
        try:
            secrets = _statement_secrets(statement, context)
        except (SQLAlchemyError, dbapi_errors.Error):  # never replace the error being raised
            secrets = []
        wrapped.statement = scrub(statement, secrets)
    return wrapped


def _statement_secrets(statement: str, context: ExceptionContext) -> list[Any]:
    """Literal values the statement gives to secret inputs, and the connection's secrets."""

    secrets: list[Any] = []
    raw = None
    if context.connection is not None and not context.connection.invalidated:
        raw = context.connection.connection.dbapi_connection
    if raw is not None:
        secrets.extend(raw.properties.secrets())
    try:
        template = sql.parse(statement)
    except dbapi_errors.Error:
        return secrets
    if not isinstance(template, sql.CallTemplate):
        return secrets
    script = None
    if raw is not None:
        try:
            script = raw.catalog.lookup(template.procedure)
        except dbapi_errors.Error:
            script = None
    for position, (name, slot) in enumerate(template.args):
        if slot.kind != sql.LITERAL or slot.value is None:
            continue
        declared = script.input_at(name, position) if script is not None else None
        if (declared is not None and declared.secret) or \
                is_secret_name(declared.name if declared is not None else (name or "")):
            secrets.append(slot.value)
    return secrets
