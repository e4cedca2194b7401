"""``redis://[user:password@]host:port/db[?key=NAME]`` (``rediss://`` for TLS, verified
against the system's CAs or those of ``ca=PATH``): one token entry shared by every worker
that reaches the engine.

The entry is a hash ``{data, version}`` under ``NAME``; reading it is one ``HMGET``. The
lock is redis-py's ``Lock`` on ``NAME:lock``: ``SET NX PX`` with a random owner token and a
lease (Timeout plus a margin), released by compare-and-delete. A write is one Lua script
that checks, on the server and at once, that the lock still holds this owner's token (its
lease has not run out) and that the entry's version is the one the holder read; else the
write is refused and the newer entry stays.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.tokens.engines import EngineURL, driver, engine_lock, parse_engine_url
from cdata_oauth.tokens.stores import EntryCodec, StoreOptions, Token

__all__ = ["RedisTokenStore"]

EXAMPLE = "redis://[user:password@]host:port/db?key=NAME"
_SAVE = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
local found = redis.call('HGET', KEYS[1], 'version')
local version = tonumber(found or '0')
if ARGV[2] ~= '' and version ~= tonumber(ARGV[2]) then return -2 end
redis.call('HSET', KEYS[1], 'data', ARGV[3], 'version', version + 1)
return version + 1
"""
T = TypeVar("T")

_clients: dict[tuple[str, float], Any] = {}
_clients_guard = threading.Lock()


def _client(url: EngineURL, db: int, timeout: float) -> Any:
    """One client (and connection pool) per engine, database and Timeout in a process."""
    redis = driver("redis", "redis", url.scheme)
    slot = (f"{url.scheme}://{url.username}:{url.password}@{url.host}:{url.port}/{db}"
            f"#{url.options.get('ca')}", timeout)
    with _clients_guard:
        found = _clients.get(slot)
        if found is None:
            retry = redis.retry.Retry(redis.backoff.NoBackoff(), 1,
                                      supported_errors=(redis.exceptions.ConnectionError,))
            found = _clients[slot] = redis.Redis(
                host=url.host, port=url.port or 6379, db=db, username=url.username,
                password=url.password, ssl=url.scheme == "rediss",
                ssl_ca_certs=url.options.get("ca"),
                socket_timeout=timeout or None, socket_connect_timeout=timeout or None,
                retry=retry)
        return found


class RedisTokenStore:
    """A token entry on a Redis engine, with a cross-host lock."""

    def __init__(self, location: str, options: StoreOptions) -> None:
        self._url = parse_engine_url(location, ("key", "ca"), EXAMPLE)
        if "ca" in self._url.options and self._url.scheme != "rediss":
            raise ProgrammingError(
                f"OAuthSettingsLocation {self._url.shown}: ca= is for TLS; use rediss://.")
        path = self._url.path.strip("/") or "0"
        if not path.isdigit():
            raise ProgrammingError(
                f"OAuthSettingsLocation {self._url.shown}: the database {path!r} is not a "
                f"number; write it as {EXAMPLE} (db is 0 to 15 on a default server).")
        self._db = int(path)
        self._options = options
        self._timeout = float(options.timeout)
        self._codec = EntryCodec(options.encryption_key)
        self.key = self._url.entry_name(options.entry_name or "cdata_oauth:tokens")
        self._redis = driver("redis", "redis", self._url.scheme)
        self._client = _client(self._url, self._db, self._timeout)
        self._save_script = self._client.register_script(_SAVE)
        self._where = f"{self._url.address} (key {self.key})"
        self._held = engine_lock(f"{self._url.address}#{self.key}", self._where,
                                 options.lock_wait)
        self._lock = self._client.lock(self.key + ":lock", timeout=options.lease,
                                       sleep=0.05, blocking=True,
                                       blocking_timeout=options.lock_wait,
                                       thread_local=True)

    @property
    def location(self) -> str:
        return self._url.shown

    def __repr__(self) -> str:
        return f"RedisTokenStore({self.location!r})"

    # the engine, every error a PEP 249 one

    def _call(self, what: str, call: Callable[[], T]) -> T:
        errors = self._redis.exceptions
        try:
            return call()
        except errors.AuthenticationError as exc:
            raise OperationalError(
                f"The token store {self._url.shown} refused the user or password "
                f"({self._url.scrub(str(exc))}); check them in OAuthSettingsLocation.") from None
        except errors.ResponseError as exc:
            text = self._url.scrub(str(exc))
            if "DB index" in text or "invalid DB" in text.lower():
                raise ProgrammingError(
                    f"OAuthSettingsLocation {self._url.shown}: the server has no database "
                    f"{self._db} ({text}); use one it has (0 to 15 on a default "
                    "server).") from None
            if "NOAUTH" in text or "WRONGPASS" in text or "NOPERM" in text:
                raise OperationalError(
                    f"The token store {self._url.shown} refused access ({text}); check the "
                    "user and password in OAuthSettingsLocation.") from None
            raise OperationalError(f"The token store {self._url.shown} failed to {what} "
                                   f"({text}).") from None
        except errors.TimeoutError:
            raise OperationalError(
                f"The token store {self._url.address} did not answer within "
                f"{self._timeout:g} seconds (Timeout) while trying to {what}; check that the "
                "server is up and reachable.") from None
        except errors.RedisError as exc:
            raise OperationalError(
                f"Cannot reach the token store {self._url.address} to {what} "
                f"({self._url.scrub(str(exc))}); check that the server is running and the "
                "host and port in OAuthSettingsLocation.") from None

    # the store

    def load(self) -> Token | None:
        data, version = self._call("read the token",
                                   lambda: self._client.hmget(self.key, "data", "version"))
        if self._held.held_here():
            self._held.version = int(version) if version is not None else 0
        if data is None:
            return None
        return self._codec.loads(bytes(data), f"the token store {self._where}")

    def save(self, token: Token) -> None:
        with self.lock():
            owner = self._held.fence
            expected = self._held.version
            data = self._codec.dumps(token)
            written = self._call("write the token", lambda: self._save_script(
                keys=[self.key, self.key + ":lock"],
                args=[owner or b"", "" if expected is None else str(expected), data]))
            if int(written) == -1:
                raise OperationalError(
                    f"The token was not written to {self._where}: this worker's lock lease "
                    f"({self._options.lease:g} s) ran out and another may have renewed the "
                    "token since; nothing was overwritten. Run the statement again.")
            if int(written) == -2:
                raise OperationalError(
                    f"The token was not written to {self._where}: a newer entry was written "
                    "meanwhile (its version changed), and it was kept. Run the statement "
                    "again.")
            self._held.version = int(written)

    def delete(self) -> bool:
        """Forget the entry (revoked, or logged out), under the lock so that no renewal
        writes it back meanwhile; True when there was one."""
        with self.lock():
            removed = self._call("remove the token", lambda: self._client.delete(self.key))
            self._held.version = 0
            return bool(removed)

    def lock(self) -> Any:
        return self._held.hold(_RedisOuter(self))


class _RedisOuter:
    def __init__(self, store: RedisTokenStore) -> None:
        self._store = store

    def acquire(self) -> None:
        store = self._store
        got = store._call("take the lock", store._lock.acquire)
        store._held.fence = store._lock.local.token if got else None
        if not got:
            raise OperationalError(
                f"Timed out after {store._options.lock_wait:g} seconds waiting for the lock "
                f"of {store._where}: another worker holds it. A worker that died frees it "
                f"when its lease ({store._options.lease:g} s) ends.")

    def release(self, succeeded: bool) -> None:
        store = self._store
        errors = store._redis.exceptions
        try:
            store._lock.release()
        except errors.LockError:
            pass  # the lease ran out: another worker may hold it now; our writes were fenced
        except errors.RedisError:
            pass  # the engine went away: the lease frees the lock
