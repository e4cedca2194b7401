"""``postgresql://user:password@host:port/dbname[?key=NAME&table=NAME]``: one token entry
shared by every worker that reaches the database.

The entry is a row of ``table`` (default ``cdata_oauth_tokens``, created when missing)::

    CREATE TABLE IF NOT EXISTS cdata_oauth_tokens (
        key        text PRIMARY KEY,
        version    bigint NOT NULL,
        data       text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )

Reading it is one ``SELECT`` (autocommit). The lock is a transaction on a connection of
its own: ``BEGIN``, ``SET LOCAL idle_in_transaction_session_timeout`` to the lease (so the
server ends the session, and frees the lock, of a holder that died or froze),
``lock_timeout`` to the wait, and ``pg_advisory_xact_lock``. Writes happen in that
transaction and check the version the holder read (compare and swap); they commit when the
outermost holder lets go, so a holder that dies leaves the entry as it was. The table name
is checked and quoted as an identifier: it never reaches SQL as text.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.tokens.engines import EngineURL, driver, engine_lock, parse_engine_url, watchdog
from cdata_oauth.tokens.stores import EntryCodec, StoreOptions, Token

__all__ = ["DEFAULT_TABLE", "PostgresTokenStore"]

EXAMPLE = "postgresql://user:password@host:port/dbname?key=NAME&table=NAME"
DEFAULT_TABLE = "cdata_oauth_tokens"
_OPTIONS = ("key", "table", "sslmode", "sslrootcert", "sslcert", "sslkey",
            "application_name")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
T = TypeVar("T")

_created: set[tuple[str, str]] = set()
_created_guard = threading.Lock()


class _Broken(Exception):
    """A connection failed in a way a fresh connection may not."""


class PostgresTokenStore:
    """A token entry in a PostgreSQL table, with a cross-host lock."""

    def __init__(self, location: str, options: StoreOptions) -> None:
        self._url = parse_engine_url(location, _OPTIONS, EXAMPLE)
        self._psycopg = driver("psycopg", "postgres", self._url.scheme)
        self._sql = self._psycopg.sql
        self._dbname = self._url.path.strip("/")
        if not self._dbname or "/" in self._dbname:
            raise ProgrammingError(
                f"OAuthSettingsLocation {self._url.shown} names no database; write it as "
                f"{EXAMPLE}.")
        table = self._url.options.get("table", DEFAULT_TABLE)
        parts = table.split(".")
        if len(parts) > 2 or not all(_IDENT.fullmatch(part) for part in parts):
            raise ProgrammingError(
                f"OAuthSettingsLocation {self._url.shown}: table={table!r} is not a table "
                "name; use letters, digits and _ (not first), optionally schema.table.")
        self._table_name = table
        self._table = self._sql.Identifier(*parts)
        self._options = options
        self._timeout = float(options.timeout)
        self._codec = EntryCodec(options.encryption_key)
        self.key = self._url.entry_name(options.entry_name or "cdata_oauth:tokens")
        self._lock_id = int.from_bytes(
            hashlib.sha256(f"{table}\n{self.key}".encode()).digest()[:8], "big", signed=True)
        self._where = f"{self._url.address} (table {table}, key {self.key})"
        self._held = engine_lock(f"{self._url.address}#{table}#{self.key}", self._where,
                                 options.lock_wait)
        self._state = _connections(self._url, self._held)

    @property
    def location(self) -> str:
        return self._url.shown

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self.location!r})"

    # connections

    def _connect(self) -> Any:
        psycopg = self._psycopg
        extra = {k: v for k, v in self._url.options.items() if k not in ("key", "table")}
        try:
            return psycopg.connect(
                host=self._url.host, port=self._url.port or 5432, user=self._url.username,
                password=self._url.password, dbname=self._dbname, autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(2, int(self._timeout + 0.999)) if self._timeout else 0,
                **extra)
        except psycopg.Error as exc:
            text = self._url.scrub(str(exc).strip())
            if "does not exist" in text and "database" in text:
                raise ProgrammingError(
                    f"OAuthSettingsLocation {self._url.shown}: the server has no database "
                    f"{self._dbname!r} ({text}); create it or name another.") from None
            if "password authentication failed" in text or "no password" in text:
                raise OperationalError(
                    f"The token store {self._url.shown} refused the user or password "
                    f"({text}); check them in OAuthSettingsLocation.") from None
            raise OperationalError(
                f"Cannot reach the token store {self._url.address} ({text}); check that the "
                "server is running and the host and port in OAuthSettingsLocation.") from None

    def _run(self, conn: Any, what: str, query: Any, params: Any = None,
             seconds: float | None = None) -> Any:
        """One statement, bounded by ``seconds`` (default Timeout); errors as ours."""
        psycopg = self._psycopg
        limit = self._timeout if seconds is None else seconds
        with watchdog.deadline(limit, conn.fileno) as fired:
            try:
                return conn.execute(query, params)
            except psycopg.errors.LockNotAvailable:
                raise OperationalError(
                    f"Timed out after {self._options.lock_wait:g} seconds waiting for the lock "
                    f"of {self._where}: another worker holds it. A worker that died frees "
                    f"it when its lease ({self._options.lease:g} s) ends.") from None
            except psycopg.errors.IdleInTransactionSessionTimeout:
                raise _lease_ran_out(self) from None
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                raise
            except psycopg.ProgrammingError as exc:
                raise ProgrammingError(
                    f"The token store {self._url.shown} refused to {what} "
                    f"({self._url.scrub(str(exc).strip())}); check the table and the "
                    "user's rights.") from None
            except psycopg.Error as exc:
                if fired:
                    raise OperationalError(
                        f"The token store {self._url.address} did not answer within "
                        f"{limit:g} seconds (Timeout) while trying to {what}; check that "
                        "the server is up and reachable.") from None
                raise _Broken(self._url.scrub(str(exc).strip())) from None

    def _with_reader(self, what: str, work: Callable[[Any], T]) -> T:
        """Run on the shared autocommit connection; once more on a new one if it broke
        (the engine restarted since), so the user never reconnects."""
        with self._state.reader_guard:
            for attempt in (1, 2):
                conn = self._state.reader
                if conn is None or conn.closed:
                    conn = self._state.reader = self._connect()
                    attempt = 2
                try:
                    return work(conn)
                except OperationalError:
                    self._state.reader = None  # timed out: this connection is spent
                    _close(conn)
                    raise
                except _Broken as exc:
                    self._state.reader = None
                    _close(conn)
                    if attempt == 2:
                        raise OperationalError(
                            f"Lost the token store {self._url.address} while trying to "
                            f"{what} ({exc}); check that the server is running.") from None
            raise AssertionError("unreachable")

    # the store

    def _select(self, conn: Any, lock: bool = False) -> tuple[int, str] | None:
        query = self._sql.SQL("SELECT version, data FROM {} WHERE key = %s"
                              + (" FOR UPDATE" if lock else "")).format(self._table)
        try:
            row = self._run(conn, "read the token", query, (self.key,)).fetchone()
        except (self._psycopg.errors.UndefinedTable,
                self._psycopg.errors.InvalidSchemaName) as exc:
            if lock:
                raise ProgrammingError(
                    f"The token store {self._url.shown} has no table {self._table_name!r} "
                    f"({self._url.scrub(str(exc).strip())}); it was dropped while in use, "
                    "run the statement again to create it.") from None
            return None  # no table yet: nothing stored (the first write creates it)
        return None if row is None else (int(row[0]), str(row[1]))

    def load(self) -> Token | None:
        if self._held.held_here():
            row = self._in_transaction("read the token", lambda conn: self._select(conn))
            self._held.version = row[0] if row else 0
        else:
            row = self._with_reader("read the token", self._select)
        if row is None:
            return None
        return self._codec.loads(row[1].encode("utf-8"), f"the token store {self._where}")

    def save(self, token: Token) -> None:
        data = self._codec.dumps(token).decode("utf-8")
        with self.lock():
            expected = self._held.version
            if expected is None:
                row = self._in_transaction("read the token",
                                           lambda conn: self._select(conn, lock=True))
                expected = row[0] if row else 0
            query = self._sql.SQL(
                "INSERT INTO {t} AS t (key, version, data, updated_at) "
                "VALUES (%s, 1, %s, now()) ON CONFLICT (key) DO UPDATE "
                "SET version = t.version + 1, data = EXCLUDED.data, updated_at = now() "
                "WHERE t.version = %s RETURNING version").format(t=self._table)
            row = self._in_transaction("write the token", lambda conn: self._run(
                conn, "write the token", query, (self.key, data, expected)).fetchone())
            if row is None:
                raise OperationalError(
                    f"The token was not written to {self._where}: a newer entry was written "
                    "meanwhile (its version changed), and it was kept. Run the statement "
                    "again.")
            self._held.version = int(row[0])

    def delete(self) -> bool:
        """Forget the entry (revoked, or logged out), in the locked transaction so that no
        renewal writes it back meanwhile; True when there was one."""
        with self.lock():
            query = self._sql.SQL("DELETE FROM {t} WHERE key = %s").format(t=self._table)
            cursor = self._in_transaction("remove the token", lambda conn: self._run(
                conn, "remove the token", query, (self.key,)))
            self._held.version = 0
            return bool(cursor.rowcount)

    def lock(self) -> Any:
        return self._held.hold(_PostgresOuter(self))

    def _in_transaction(self, what: str, work: Callable[[Any], T]) -> T:
        conn = self._state.writer
        if conn is None:
            raise _lease_ran_out(self)
        try:
            return work(conn)
        except _Broken as exc:
            self._state.writer = None
            _close(conn)
            raise OperationalError(
                f"Lost the token store {self._url.address} while trying to {what} ({exc}); "
                "the lock and anything written under it are gone. Run the statement "
                "again.") from None

    def _ensure_table(self, conn: Any) -> None:
        slot = (self._url.address, self._table_name)
        if slot in _created:
            return
        query = self._sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, version bigint NOT NULL, "
            "data text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
        ).format(self._table)
        errors = self._psycopg.errors
        try:
            self._run(conn, "create the table", query)
        except (errors.UniqueViolation, errors.DuplicateTable):
            pass  # another worker created it at the same moment
        except errors.InvalidSchemaName as exc:
            raise ProgrammingError(
                f"OAuthSettingsLocation {self._url.shown}: table={self._table_name!r} names "
                f"a schema the database does not have ({exc}); create it or name "
                "another.") from None
        with _created_guard:
            _created.add(slot)


class _PostgresOuter:
    def __init__(self, store: PostgresTokenStore) -> None:
        self._store = store

    def acquire(self) -> None:
        store = self._store
        state, sql = store._state, store._sql
        for attempt in (1, 2):
            conn = state.writer
            fresh = conn is None or conn.closed
            if fresh:
                conn = state.writer = store._connect()
            try:
                store._ensure_table(conn)
                store._run(conn, "take the lock", sql.SQL(
                    "BEGIN; SET LOCAL idle_in_transaction_session_timeout = {lease}; "
                    "SET LOCAL lock_timeout = {wait}; SELECT pg_advisory_xact_lock({id})"
                ).format(lease=sql.Literal(int(store._options.lease * 1000)),
                         wait=sql.Literal(int(store._options.lock_wait * 1000)),
                         id=sql.Literal(store._lock_id)),
                    seconds=store._options.lock_wait + store._timeout)
                return
            except _Broken as exc:
                state.writer = None
                _close(conn)
                if fresh or attempt == 2:
                    raise OperationalError(
                        f"Lost the token store {store._url.address} while taking the lock "
                        f"({exc}); check that the server is running.") from None
            except BaseException:
                _rollback(store, conn)
                raise

    def release(self, succeeded: bool) -> None:
        store = self._store
        conn = store._state.writer
        if conn is None:
            if succeeded:
                raise _lease_ran_out(store)
            return
        if not succeeded:
            _rollback(store, conn)
            return
        try:
            store._run(conn, "commit the token", "COMMIT")
        except _Broken as exc:
            store._state.writer = None
            _close(conn)
            raise OperationalError(
                f"The token was not written to {store._where}: the connection was lost at "
                f"commit ({exc}); the entry is as it was. Run the statement again.") from None
        except OperationalError:
            store._state.writer = None
            _close(conn)
            raise


def _rollback(store: PostgresTokenStore, conn: Any) -> None:
    try:
        store._run(conn, "roll back", "ROLLBACK")
    except Exception:
        store._state.writer = None
        _close(conn)


def _lease_ran_out(store: PostgresTokenStore) -> OperationalError:
    if store._state.writer is not None:
        _close(store._state.writer)
        store._state.writer = None
    return OperationalError(
        f"The token was not written to {store._where}: this worker's lock lease "
        f"({store._options.lease:g} s) ran out and the server ended its transaction; "
        "another worker may have renewed the token since, and nothing was overwritten. Run "
        "the statement again.")


def _close(conn: Any) -> None:
    with suppress(Exception):
        conn.close()


class _Connections:
    """A location's two connections in this process: autocommit reads, and the lock's."""

    def __init__(self) -> None:
        self.reader: Any = None
        self.reader_guard = threading.Lock()
        self.writer: Any = None


_states: dict[int, _Connections] = {}
_states_guard = threading.Lock()


def _connections(url: EngineURL, held: Any) -> _Connections:
    """One pair per location lock (the writer belongs to whoever holds that lock)."""
    with _states_guard:
        found = _states.get(id(held))
        if found is None:
            found = _states[id(held)] = _Connections()
        return found
