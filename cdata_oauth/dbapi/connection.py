"""PEP 249 ``Connection`` and ``Cursor``: a statement goes parse -> catalog -> bind ->
operation -> result rows (one, or one per ``api:push``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar, cast

from cdata_oauth import exceptions as exc
from cdata_oauth.catalog.binding import Binder
from cdata_oauth.catalog.lookup import Catalog
from cdata_oauth.config.inputs import Inputs
from cdata_oauth.config.properties import ConnectionProperties
from cdata_oauth.dbapi.results import Projector, ResultSet
from cdata_oauth.dbapi.systables import select
from cdata_oauth.exceptions import (
    InterfaceError,
    InternalError,
    NotSupportedError,
    ProgrammingError,
)
from cdata_oauth.oauth.context import ConnectionContext
from cdata_oauth.oauth.operations import Invocation, get_operation
from cdata_oauth.redaction import scrub
from cdata_oauth.sql import parse as sql
from cdata_oauth.tokens.lifecycle import TokenLifecycle

__all__ = ["Connection", "Cursor"]

F = TypeVar("F", bound=Callable[..., Any])

def check_closed(method: F) -> F:
    """Refuse to use a closed connection or cursor, naming which one."""

    @wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.closed:
            raise InterfaceError(f"{type(self).__name__} is closed; open a new one.")
        return method(self, *args, **kwargs)

    return cast(F, wrapper)


class Connection:
    """A set of connection properties and the procedures they feed.

    Connections may be shared between threads (``threadsafety = 2``); cursors may not.
    """

    Warning = exc.Warning
    Error = exc.Error
    InterfaceError = exc.InterfaceError
    DatabaseError = exc.DatabaseError
    DataError = exc.DataError
    OperationalError = exc.OperationalError
    IntegrityError = exc.IntegrityError
    InternalError = exc.InternalError
    ProgrammingError = exc.ProgrammingError
    NotSupportedError = exc.NotSupportedError

    def __init__(self, properties: ConnectionProperties) -> None:
        self.properties = properties
        self.catalog = Catalog(properties.get("Location"))
        self.binder = Binder(properties)
        self.projector = Projector()
        self.context = ConnectionContext(properties)
        self.closed = False
        self._close_lock = threading.Lock()
        self.tokens: TokenLifecycle = TokenLifecycle(self)
        """The connection's OAuth tokens: ``tokens.current()`` (renewed when due),
        ``tokens.refresh()``, ``tokens.stored()``; see the README's token lifecycle."""
        try:
            self.tokens.start()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<cdata_oauth.Connection {state} {self.properties!r}>"

    @check_closed
    def cursor(self) -> Cursor:
        return Cursor(self)

    @check_closed
    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        """Shortcut, as the commercial connector has: a new cursor that ran ``operation``."""
        cursor = self.cursor()
        cursor.execute(operation, parameters)
        return cursor

    def close(self) -> None:
        """Release sockets; closing twice is harmless."""
        with self._close_lock:
            if self.closed:
                return
            self.closed = True
        self.context.close()

    @check_closed
    def commit(self) -> None:
        """Nothing to commit: procedures take effect when they run."""

    @check_closed
    def rollback(self) -> None:
        """Nothing to roll back; kept so that pools and frameworks can call it."""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run_procedure(self, procedure: str, args: Sequence[tuple[str | None, Any]],
                      reusable: bool = False) -> ResultSet:
        """Look up, bind and run one procedure; every failure is a PEP 249 exception.

        ``reusable``: the args are a cached literal-only statement's, so binding may keep
        the inputs it bound for them."""
        script = self.catalog.lookup(procedure)
        inputs = self.binder.bind(script, tuple(args), reusable)
        try:
            inputs = self.tokens.prepare(script.operation, inputs)
            operation = get_operation(script.operation)
            try:
                outputs = operation(Invocation(script, inputs, self.context))
            except exc.Error as error:
                self.tokens.failed(script.operation, inputs, error)
                raise
            self.tokens.keep(script.operation, inputs, outputs)
        except exc.Error as error:
            error.args = tuple(scrub(str(a), self._secrets(inputs)) for a in error.args)
            raise
        except Exception as error:  # a bug must not leak a third-party type or a secret
            message = scrub(f"{type(error).__name__}: {error}", self._secrets(inputs))
            raise InternalError(f"{script.name} failed unexpectedly ({message}); please "
                                "report this.") from error
        return self.projector.project(script, outputs)

    def _secrets(self, inputs: Inputs) -> list[Any]:
        return inputs.secrets() + self.properties.secrets()


class Cursor:
    """Runs statements and holds the last result (a procedure's rows: usually one)."""

    arraysize: int = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.closed = False
        self._result: ResultSet | None = None
        self._position = 0
        self.rowcount = -1
        self.lastrowid = None

    def __repr__(self) -> str:
        return f"<cdata_oauth.Cursor {'closed' if self.closed else 'open'}>"

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        return None if self._result is None else self._result.description

    @property
    def rownumber(self) -> int | None:
        return None if self._result is None else self._position

    def _check_usable(self) -> None:
        if self.closed:
            raise InterfaceError("Cursor is closed; open a new one.")
        if self.connection.closed:
            raise InterfaceError("The cursor's connection is closed; open a new one.")

    def execute(self, operation: str, parameters: Any = None) -> Cursor:
        """Run one EXEC (or a SELECT on a system table); returns the cursor."""
        self._check_usable()
        self._result, self.rowcount, self._position = None, -1, 0
        template = sql.parse(operation)
        if isinstance(template, sql.SelectTemplate):
            ast = sql.bind_select(template, parameters)
            result = select(ast, template.tables, self.connection)
        else:
            call = sql.bind_call(template, parameters)
            result = self.connection.run_procedure(call.procedure, call.args, call.reusable)
        self._set_result(result)
        return self

    def executemany(self, operation: str, seq_of_parameters: Any) -> Cursor:
        """Run the statement once per parameter set; the cursor keeps every row, in order.

        All runs must give the same columns (wildcard outputs may differ between runs);
        otherwise the last run's result is kept and earlier rows are dropped. A failing run
        raises and leaves no result. An empty sequence runs nothing (rowcount -1).
        """
        self._check_usable()
        self._result, self.rowcount, self._position = None, -1, 0
        sql.parse(operation)  # a bad statement fails even when there is nothing to run
        if isinstance(seq_of_parameters, str | bytes | Mapping) \
                or not isinstance(seq_of_parameters, Iterable):
            raise ProgrammingError(
                "executemany takes a sequence (or iterator) of parameter sets, e.g. "
                f"[('a',), ('b',)], not {type(seq_of_parameters).__name__}; for one set use "
                "execute().")
        rows: list[tuple[Any, ...]] = []
        last: ResultSet | None = None
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
            assert self._result is not None
            if last is not None and last.description != self._result.description:
                rows = []
            rows.extend(self._result.rows)
            last = self._result
        if last is not None:
            self._set_result(ResultSet(last.description, rows))
        return self

    def callproc(self, procname: str, parameters: Mapping[str, Any] | Sequence[Any] = ()
                 ) -> Mapping[str, Any] | Sequence[Any]:
        """Call a procedure by name; a mapping gives inputs by name, a sequence in declared
        order. Returns the parameters unchanged (the procedures have no OUT inputs); the
        result row is read with fetch*."""
        self._check_usable()
        if not isinstance(procname, str) or not procname:
            raise ProgrammingError("callproc needs the procedure's name as a string.")
        self._result, self.rowcount, self._position = None, -1, 0
        args: list[tuple[str | None, Any]]
        if isinstance(parameters, Mapping):
            args = []
            for key, value in parameters.items():
                name = str(key).lstrip("@")
                args.append((name, sql.check_parameter(value, "@" + name)))
        elif isinstance(parameters, str | bytes) or not isinstance(parameters, Sequence):
            raise ProgrammingError("callproc parameters must be a mapping or a sequence.")
        else:
            args = [(None, sql.check_parameter(value, f"parameter {position}"))
                    for position, value in enumerate(parameters, 1)]
        self._set_result(self.connection.run_procedure(procname, args))
        return parameters

    def _set_result(self, result: ResultSet) -> None:
        self._result = result
        self._position = 0
        self.rowcount = len(result.rows)

    def _rows(self) -> list[tuple[Any, ...]]:
        self._check_usable()
        if self._result is None:
            raise ProgrammingError("No result to fetch: execute a statement first.")
        return self._result.rows

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._rows()
        if self._position >= len(rows):
            return None
        self._position += 1
        return rows[self._position - 1]

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        rows = self._rows()
        count = self.arraysize if size is None else size
        if type(count) is not int or count < 0:  # bool too: fetchmany(True) is a slip
            given = "arraysize" if size is None else "size"
            raise ProgrammingError(
                f"fetchmany {given} is {count!r}; give a whole number of rows, 0 or more "
                "(fetchall() reads every row).")
        chunk = rows[self._position:self._position + count]
        self._position += len(chunk)
        return chunk

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows()
        chunk = rows[self._position:]
        self._position = len(rows)
        return chunk

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored, as PEP 249 allows."""
        self._check_usable()

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""
        self._check_usable()

    def nextset(self) -> bool | None:
        """There is only ever one result set."""
        self._check_usable()
        raise NotSupportedError("A statement returns one result set; there is no next set.")

    def close(self) -> None:
        self.closed = True
        self._result = None

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
