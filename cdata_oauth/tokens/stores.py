"""Where tokens live between statements, connections and runs: a JSON file written
atomically with owner-only permissions, ``memory://<id>`` shared inside one process, and,
through the scheme registry, ``redis://`` and ``postgresql://`` shared by a fleet (see
``redis_store`` and ``postgres_store``) or any store a package adds under the entry-point
group ``cdata_oauth.token_stores``.

Each store also hands out its lock: a thread lock for memory stores, a thread lock plus a
cross-process file lock (``filelock``) for files, a thread lock plus the engine's lock
(with a lease) for Redis and PostgreSQL, so that refreshes are single flight.

Entries of the file and engine stores go through ``EntryCodec``: the JSON token record,
sealed with AES-GCM when ``OAuthSettingsEncryptionKey`` is set (``encryption``).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from cdata_oauth.config.folders import config_folder
from cdata_oauth.exceptions import OperationalError, ProgrammingError
from cdata_oauth.lazy import optional_module, resolve
from cdata_oauth.redaction import mask, mask_url

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

__all__ = [
    "ENTRY_POINT_GROUP",
    "MEMORY_PREFIX",
    "STORE_SCHEMES",
    "EntryCodec",
    "FileTokenStore",
    "LocalTokenStore",
    "MemoryTokenStore",
    "StoreOptions",
    "Token",
    "TokenStore",
    "config_folder",
    "default_entry_name",
    "default_location",
    "open_store",
    "rekey",
]

FILE_LOCK, FILE_LOCK_TIMEOUT = "filelock:FileLock", "filelock:Timeout"
"""The cross-process lock of file stores, loaded when a file store first locks."""
MEMORY_PREFIX = "memory://"
FORMAT = "cdata_oauth.tokens/1"
LOCK_TIMEOUT = 600.0
"""Seconds to wait for another thread or process that is refreshing the same store."""
LEASE_MARGIN = 5.0
"""Seconds a Redis or PostgreSQL lock outlives ``Timeout``: lease = Timeout + this."""
ENTRY_POINT_GROUP = "cdata_oauth.token_stores"
"""Packages add stores here: entry point name = URL scheme, value = a factory taking
``(location, StoreOptions)`` (a store class is one)."""
CIPHER = "cdata_oauth.tokens.encryption:cipher_for"
ENVELOPE_FORMAT = "cdata_oauth.tokens.sealed/1"
"""The ``format`` of an encrypted entry (told apart here, so that reading a plain entry
loads no cryptography: ``cdata-oauth token`` reads one on every run)."""


def is_sealed(data: Any) -> bool:
    """True when a parsed entry is an encrypted envelope."""
    return isinstance(data, dict) and data.get("format") == ENVELOPE_FORMAT

# Test hook: called with "partial" after half of the file is written and with "synced"
# just before the rename. Crash tests set it in a child process they then kill.
_crash_hook: Callable[[str], None] | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


class Token(NamedTuple):
    """An access token and what is known about it. ``timestamp`` is Unix ms of issue.

    A named tuple, not a dataclass, so that reading a store stays cheap to import."""

    access_token: str | None
    refresh_token: str | None = None
    token_secret: str | None = None
    expires_in: int | None = None
    timestamp: int | None = None
    scope: str | None = None
    token_type: str | None = None

    @property
    def expires_at(self) -> float | None:
        """Unix seconds when the token stops working; None when nobody said."""
        if self.expires_in is None or self.timestamp is None:
            return None
        return self.timestamp / 1000 + self.expires_in

    def remaining(self, now: float | None = None) -> float | None:
        """Seconds left (negative once expired); None when the lifetime is unknown."""
        expires_at = self.expires_at
        if expires_at is None:
            return None
        return expires_at - (time.time() if now is None else now)

    def is_due(self, leeway: float, now: float | None = None) -> bool:
        """True when there is no access token or it expires within ``leeway`` seconds.

        The leeway is capped at half the lifetime, so that a provider issuing tokens
        shorter than the leeway does not make every call refresh.
        """
        if not self.access_token:
            return True
        remaining = self.remaining(now)
        if remaining is None:
            return False
        assert self.expires_in is not None
        return remaining <= min(leeway, self.expires_in / 2)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "OAuthAccessToken": self.access_token,
                "OAuthRefreshToken": self.refresh_token, "OAuthTokenSecret": self.token_secret,
                "OAuthExpiresIn": self.expires_in, "OAuthTokenTimestamp": self.timestamp,
                "Scope": self.scope, "TokenType": self.token_type}

    @classmethod
    def from_json(cls, data: Any) -> Token:
        """Raises ValueError with the reason when ``data`` is not a token record."""
        if not isinstance(data, dict):
            raise ValueError("the top level is not a JSON object")
        if data.get("format") != FORMAT:
            raise ValueError(f"its format is {data.get('format')!r}, not {FORMAT!r}")
        texts = {}
        for key in ("OAuthAccessToken", "OAuthRefreshToken", "OAuthTokenSecret", "Scope",
                    "TokenType"):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{key} is not a string")
            texts[key] = value or None
        numbers = {}
        for key in ("OAuthExpiresIn", "OAuthTokenTimestamp"):
            value = data.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{key} is not a whole number")
            numbers[key] = value
        return cls(texts["OAuthAccessToken"], texts["OAuthRefreshToken"],
                   texts["OAuthTokenSecret"], numbers["OAuthExpiresIn"],
                   numbers["OAuthTokenTimestamp"], texts["Scope"], texts["TokenType"])

    def with_refresh_token(self, refresh_token: str | None) -> Token:
        return self._replace(refresh_token=refresh_token)

    def __repr__(self) -> str:
        return (f"Token(access_token={mask(self.access_token)!r}, "
                f"refresh_token={mask(self.refresh_token)!r}, expires_in={self.expires_in!r}, "
                f"timestamp={self.timestamp!r})")


class StoreOptions(NamedTuple):
    """What a store gets besides its location, from the connection properties."""

    timeout: float = 60.0
    """Seconds one engine round trip may take (``Timeout``); 0 means no limit."""
    encryption_key: str | None = None
    """``OAuthSettingsEncryptionKey`` as given (passphrase, ``env:NAME``, ``file:PATH``)."""
    entry_name: str = ""
    """The entry's name when the location gives none (``default_entry_name``)."""

    @property
    def lease(self) -> float:
        """How long an engine lock lives unless released: Timeout plus ``LEASE_MARGIN``
        (with no Timeout, ``LOCK_TIMEOUT``), so a holder that dies frees it then."""
        return (self.timeout if self.timeout > 0 else LOCK_TIMEOUT) + LEASE_MARGIN

    @property
    def lock_wait(self) -> float:
        """How long to wait for another holder: its lease, plus one round trip."""
        return self.lease + (self.timeout if self.timeout > 0 else LOCK_TIMEOUT)

    def __repr__(self) -> str:
        key = "********" if self.encryption_key else None
        return (f"StoreOptions(timeout={self.timeout!r}, encryption_key={key!r}, "
                f"entry_name={self.entry_name!r})")


class EntryCodec:
    """Token <-> stored bytes: the JSON record, sealed when a key is set; fail closed."""

    def __init__(self, encryption_key: str | None) -> None:
        self.cipher: Any = resolve(CIPHER)(encryption_key) if encryption_key else None

    def dumps(self, token: Token) -> bytes:
        data = (json.dumps(token.to_json(), indent=2) + "\n").encode("utf-8")
        return data if self.cipher is None else bytes(self.cipher.seal(data))

    def loads(self, raw: bytes, where: str) -> Token:
        """The token of an entry; ``OperationalError`` (saying what to do) when it cannot
        be read as one, or when it is sealed without a key or plain with one."""
        data = self._parse(raw, where)
        if is_sealed(data):
            if self.cipher is None:
                raise OperationalError(
                    f"The token entry in {where} is encrypted, and "
                    "OAuthSettingsEncryptionKey is not set; set it to the key the entry was "
                    "written with. The entry was left untouched.")
            data = self._parse(self.cipher.open(data, where), where)
        elif self.cipher is not None:
            raise OperationalError(
                f"The token entry in {where} is stored in clear, and "
                "OAuthSettingsEncryptionKey is set, so it is not read (no silent fallback); "
                "encrypt it once with cdata_oauth.tokens.stores.rekey(location, None, key), "
                "or delete it to sign in again, or remove the key. It was left untouched.")
        try:
            return Token.from_json(data)
        except ValueError as exc:
            raise OperationalError(self._unparsable(where, str(exc))) from None

    def _parse(self, raw: bytes, where: str) -> Any:
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise OperationalError(self._unparsable(where, "it is not JSON")) from None

    @staticmethod
    def _unparsable(where: str, reason: str) -> str:
        return (f"The token entry in {where} cannot be parsed ({reason}); it was left "
                "untouched. Delete it to sign in again, or set OAuthSettingsLocation to "
                "another place.")


class TokenStore(Protocol):
    """What the lifecycle needs of a store."""

    @property
    def location(self) -> str: ...

    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None: ...

    def lock(self) -> Any: ...  # a context manager; re-entrant within one thread

    def delete(self) -> bool: ...  # forget the entry; True when there was one


class _StoreLock:
    """Re-entrant per thread: a thread lock, plus a file lock taken at the outermost level.

    One instance per location and process, so every connection shares it.
    """

    def __init__(self, describe: str, lock_file: Path | None) -> None:
        self._describe = describe
        self._lock_file = lock_file
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._file_lock: Any = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        if not self._thread_lock.acquire(timeout=LOCK_TIMEOUT):
            raise OperationalError(
                f"Timed out after {LOCK_TIMEOUT:g} seconds waiting for another thread that "
                f"holds the token store {self._describe}.")
        try:
            if self._depth == 0 and self._lock_file is not None:
                self._acquire_file()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._file_lock is not None:
                    lock, self._file_lock = self._file_lock, None
                    lock.release()
        finally:
            self._thread_lock.release()

    def _acquire_file(self) -> None:
        assert self._lock_file is not None
        lock = resolve(FILE_LOCK)(str(self._lock_file), timeout=LOCK_TIMEOUT, mode=0o600)
        try:
            lock.acquire()
        except resolve(FILE_LOCK_TIMEOUT) as exc:
            raise OperationalError(
                f"Timed out after {LOCK_TIMEOUT:g} seconds waiting for the lock file "
                f"{self._lock_file}: another process is refreshing the token. If none is "
                "running, delete the lock file.") from exc
        except OSError as exc:
            raise OperationalError(
                f"Cannot lock {self._lock_file} ({exc.strerror or type(exc).__name__}); "
                "check that its folder is writable.") from exc
        self._file_lock = lock


_locks: dict[str, _StoreLock] = {}
_locks_guard = threading.Lock()


def _shared_lock(key: str, describe: str, lock_file: Path | None) -> _StoreLock:
    with _locks_guard:
        found = _locks.get(key)
        if found is None:
            found = _locks[key] = _StoreLock(describe, lock_file)
        return found


class MemoryTokenStore:
    """``memory://<id>``: shared by every connection of this process using the same id."""

    _tokens: dict[str, Token] = {}
    _guard = threading.Lock()

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        self._lock = _shared_lock(MEMORY_PREFIX + identifier, MEMORY_PREFIX + identifier, None)

    @property
    def location(self) -> str:
        return MEMORY_PREFIX + self.identifier

    def load(self) -> Token | None:
        with self._guard:
            return self._tokens.get(self.identifier)

    def save(self, token: Token) -> None:
        with self._guard:
            self._tokens[self.identifier] = token

    def delete(self) -> bool:
        """Forget the token; True when there was one."""
        with self._guard:
            return self._tokens.pop(self.identifier, None) is not None

    def lock(self) -> Any:
        return self._lock.hold()

    def __repr__(self) -> str:
        return f"MemoryTokenStore({self.location!r})"


class LocalTokenStore:
    """Tokens of one connection only, kept while it lives (InitiateOAuth=OFF, no location)."""

    def __init__(self) -> None:
        self._token: Token | None = None
        self._lock = _StoreLock("of this connection", None)

    @property
    def location(self) -> str:
        return ""

    def load(self) -> Token | None:
        return self._token

    def save(self, token: Token) -> None:
        self._token = token

    def delete(self) -> bool:
        """Forget the token; True when there was one."""
        found, self._token = self._token is not None, None
        return found

    def lock(self) -> Any:
        return self._lock.hold()

    def __repr__(self) -> str:
        return "LocalTokenStore()"


class FileTokenStore:
    """A JSON file; replaced atomically (temp file, fsync, rename) with mode 0600."""

    def __init__(self, path: str | os.PathLike[str],
                 options: StoreOptions | None = None) -> None:
        self.path = Path(os.path.abspath(Path(path).expanduser()))
        self._codec = EntryCodec((options or StoreOptions()).encryption_key)
        self._lock = _shared_lock(str(self.path), str(self.path),
                                  self.path.with_name(self.path.name + ".lock"))

    @property
    def location(self) -> str:
        return str(self.path)

    def load(self) -> Token | None:
        """The stored token; None when the file does not exist yet."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OperationalError(
                f"Cannot read the token file {self.path} ({exc.strerror or type(exc).__name__}); "
                "check its permissions or set OAuthSettingsLocation to another file.") from exc
        if not raw:
            return None  # an empty file (e.g. made with touch) holds nothing to lose
        return self._codec.loads(raw, f"the token file {self.path}")

    def save(self, token: Token) -> None:
        """Write the whole file or nothing: a crash leaves the previous file intact."""
        folder = self.path.parent
        data = self._codec.dumps(token)
        try:
            if not folder.is_dir():
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _atomic_write(self.path, data)
        except OSError as exc:
            raise OperationalError(
                f"Cannot write the token file {self.path} "
                f"({exc.strerror or type(exc).__name__}); check that its folder is "
                "writable or set OAuthSettingsLocation to another file.") from exc

    def delete(self) -> bool:
        """Remove the token file; True when there was one."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise OperationalError(
                f"Cannot remove the token file {self.path} "
                f"({exc.strerror or type(exc).__name__}); check that its folder is "
                "writable.") from exc
        _fsync_folder(self.path.parent)
        return True

    def lock(self) -> Any:
        return self._lock.hold()

    def __repr__(self) -> str:
        return f"FileTokenStore({self.location!r})"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(temp_name, 0o600)  # mkstemp already does; be explicit for other umasks
            half = len(data) // 2
            handle.write(data[:half])
            if _crash_hook is not None:
                handle.flush()
                _crash_hook("partial")
            handle.write(data[half:])
            handle.flush()
            os.fsync(handle.fileno())
        if _crash_hook is not None:
            _crash_hook("synced")
        os.replace(temp_name, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows has no directory handles."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256_hex(data: bytes) -> str:
    """SHA-256 without ``hashlib``, whose import loads OpenSSL (about 3 ms, a tenth of a
    ``cdata-oauth token`` run): CPython's own implementation (``_sha2`` from 3.12,
    ``_sha256`` before) gives the same digest; other interpreters use hashlib."""
    for name in ("_sha2", "_sha256"):
        module = optional_module(name)
        if module is not None:
            return str(module.sha256(data).hexdigest())
    return str(resolve("hashlib:sha256")(data).hexdigest())


def default_location(client_id: str | None, token_url: str | None) -> str:
    """One file per app and provider, so two apps never overwrite each other's tokens."""
    key = _sha256_hex(f"{client_id or ''}\n{token_url or ''}".encode())[:16]
    return str(config_folder() / "cdata_oauth" / f"tokens-{key}.json")


def default_entry_name(client_id: str | None, token_url: str | None, scope: str | None,
                       user: str | None) -> str:
    """The name of an engine entry when the location gives no ``key``: a stable hash of
    what tells one app, provider, scope and user from another on a shared engine."""
    text = "\n".join(part or "" for part in (client_id, token_url, scope, user))
    return "cdata_oauth:tokens:" + _sha256_hex(text.encode())[:24]


StoreFactory = Callable[[str, StoreOptions], TokenStore]
"""Opens the store a location names (the whole location, scheme included)."""


def _open_memory(location: str, options: StoreOptions) -> TokenStore:
    identifier = location[len(MEMORY_PREFIX):]
    if not identifier:
        raise ProgrammingError(
            "OAuthSettingsLocation 'memory://' needs an id, e.g. memory://myjob; "
            "connections using the same id share their tokens.")
    return MemoryTokenStore(identifier)


def _engine(target: str) -> StoreFactory:
    """A factory whose module (and driver) loads only when a location uses it."""
    def factory(location: str, options: StoreOptions) -> TokenStore:
        return resolve(target)(location, options)  # type: ignore[no-any-return]
    return factory


STORE_SCHEMES: dict[str, StoreFactory] = {
    "memory": _open_memory,
    "redis": _engine("cdata_oauth.tokens.redis_store:RedisTokenStore"),
    "rediss": _engine("cdata_oauth.tokens.redis_store:RedisTokenStore"),
    "postgresql": _engine("cdata_oauth.tokens.postgres_store:PostgresTokenStore"),
    "postgres": _engine("cdata_oauth.tokens.postgres_store:PostgresTokenStore"),
}
"""URL scheme -> the factory of its store; a new store is a new entry, or an entry point
of the group ``cdata_oauth.token_stores`` (read once, at the first unknown scheme). A
location with no ``scheme://`` is a file path."""

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_plugins_read = False
_plugins_guard = threading.Lock()


ENTRY_POINTS = "importlib.metadata:entry_points"
"""Read once, at the first location with a scheme no built-in store serves."""


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points installed packages declare in ``group`` (importlib.metadata is
    loaded here, at first use: it costs a start-up a third of ``cdata-oauth token``)."""
    return list(resolve(ENTRY_POINTS)(group=group))


def _read_entry_points() -> None:
    """Add the stores that installed packages declare (never replacing a built-in)."""
    global _plugins_read
    with _plugins_guard:
        if _plugins_read:
            return
        _plugins_read = True
        for point in entry_points(ENTRY_POINT_GROUP):
            STORE_SCHEMES.setdefault(point.name.lower(), _plugin(point))


def _plugin(point: EntryPoint) -> StoreFactory:
    def factory(location: str, options: StoreOptions) -> TokenStore:
        try:
            opener = point.load()
        except Exception as exc:  # a broken plug-in must not escape as its own type
            raise ProgrammingError(
                f"The token store for {point.name}:// ({point.value}, entry point group "
                f"{ENTRY_POINT_GROUP}) cannot be loaded ({type(exc).__name__}: {exc}); "
                "reinstall the package that provides it.") from exc
        return opener(location, options)  # type: ignore[no-any-return]
    return factory


def find_factory(scheme: str) -> StoreFactory | None:
    """The factory serving ``scheme``: the registry, then installed entry points."""
    factory = STORE_SCHEMES.get(scheme.lower())
    if factory is None and not _plugins_read:
        _read_entry_points()
        factory = STORE_SCHEMES.get(scheme.lower())
    return factory


def open_store(location: str, options: StoreOptions | None = None) -> TokenStore:
    """The store a location names: ``<scheme>://...`` of ``STORE_SCHEMES``, or a file path."""
    options = options or StoreOptions()
    if not location.strip():
        raise ProgrammingError("OAuthSettingsLocation is empty; give a file path or "
                               "memory://<id>.")
    scheme = _SCHEME.match(location.strip())
    if scheme is not None:
        factory = find_factory(scheme.group(1))
        if factory is None:
            known = ", ".join(f"{name}://" for name in sorted(STORE_SCHEMES))
            raise ProgrammingError(
                f"OAuthSettingsLocation {mask_url(location.strip())} uses "
                f"{scheme.group(1)}://, which no token store serves; use one of {known}, "
                "or a file path.")
        return factory(location.strip(), options)
    path = Path(location).expanduser()
    if path.is_dir():
        raise ProgrammingError(
            f"OAuthSettingsLocation {location!r} is a folder; name a file inside it, "
            f"e.g. {path / 'tokens.json'}.")
    return FileTokenStore(path, options)


def rekey(location: str, old_key: str | None, new_key: str | None,
          options: StoreOptions | None = None) -> Token | None:
    """Rewrite a store's entry under ``new_key`` (None: in clear), reading it with
    ``old_key`` (None: it is in clear), under the store's lock; the key rotation step.
    Returns the token, or None when the store holds nothing."""
    base = options or StoreOptions()
    reader = open_store(location, base._replace(encryption_key=old_key))
    writer = open_store(location, base._replace(encryption_key=new_key))
    with reader.lock():
        token = reader.load()
        if token is not None:
            with writer.lock():
                writer.save(token)
    return token
