"""Benchmark 7: a statement with a fresh token on the fleet stores, against the file store.

Each contender is a connection with ``InitiateOAuth=GETANDREFRESH`` whose token is fresh
(signed in once, at the embedded provider); each call is ``conn.tokens.access_token()``,
what ``BearerAuth`` does for every request: read the store, find the token valid, return
it. Contenders: the file store (the reference), Redis and PostgreSQL (Debian
redis-server and postgresql, started here on 127.0.0.1 as unprivileged processes).

A second case counts what the engines ran per statement (Redis ``INFO commandstats``,
PostgreSQL ``pg_stat_statements``): a fresh token must cost at most one engine round trip.

Without redis-server or PostgreSQL installed, the row says so (skipped).
"""

from __future__ import annotations

import glob
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import cdata_oauth
from cdata_oauth.provider import EmbeddedProvider

from .harness import Options, Row, interleave, ratio_rows

NAME = "fleet_stores"
BENCH = "8 fleet token stores"
CASE = "fresh token, per statement"
TRIPS = "engine round trips per statement"
FILE = "file store"
REDIS = "redis:// store"
POSTGRES = "postgresql:// store"


def _installed() -> dict[str, str | None]:
    """Engine -> why it cannot run here (None: it can)."""
    import importlib.util

    why: dict[str, str | None] = {}
    redis_ok = shutil.which("redis-server") and importlib.util.find_spec("redis")
    why[REDIS] = None if redis_ok else "redis-server or redis-py not installed " \
        "(apt-get install redis-server; pip install cdata_oauth[redis])"
    pg_ok = glob.glob("/usr/lib/postgresql/*/bin/initdb") and importlib.util.find_spec("psycopg")
    why[POSTGRES] = None if pg_ok else "PostgreSQL or psycopg not installed " \
        "(apt-get install postgresql; pip install cdata_oauth[postgres])"
    return why


@contextmanager
def _engines(why: dict[str, str | None]) -> Iterator[dict[str, Any]]:
    from tests.servers.postgres import finish_postgres, start_postgres
    from tests.servers.redis import finish_redis, start_redis

    with ExitStack() as stack:
        found: dict[str, Any] = {}
        if why[REDIS] is None:
            server = start_redis()
            stack.callback(finish_redis, server)
            found[REDIS] = server
        if why[POSTGRES] is None:
            pg = start_postgres()
            stack.callback(finish_postgres, pg)
            found[POSTGRES] = pg
        yield found


def _counter(name: str, server: Any, table: str) -> Callable[[], int]:
    if name == REDIS:
        return lambda: int(server.command_count())
    return lambda: int(server.statement_calls(table))


def run(opts: Options) -> list[Row]:
    why = _installed()
    rows: list[Row] = []
    table = "bench_" + secrets.token_hex(4)
    with EmbeddedProvider() as provider, _engines(why) as engines, \
            tempfile.TemporaryDirectory(prefix="cdata-oauth-bench-") as folder:
        locations = {FILE: str(Path(folder) / "tokens.json")}
        if REDIS in engines:
            locations[REDIS] = engines[REDIS].url(key="bench")
        if POSTGRES in engines:
            locations[POSTGRES] = engines[POSTGRES].url(key="bench", table=table)
        connections = {name: cdata_oauth.connect(**provider.connection_properties(
            GrantType="CLIENT", InitiateOAuth="GETANDREFRESH", OAuthSettingsLocation=where))
            for name, where in locations.items()}
        try:
            measured = interleave({name: (lambda i, c=conn: c.tokens.access_token())
                                   for name, conn in connections.items()},
                                  rounds=opts.n(3000, 30), warmup=opts.n(100, 3))
            notes = {name: f"skipped: {reason}" for name, reason in why.items() if reason}
            rows += ratio_rows(BENCH, CASE, measured, FILE)
            for name, note in notes.items():
                rows.append(Row(BENCH, CASE, name, None, note=note))
            statements = opts.n(1000, 20)
            for name, server in engines.items():
                count = _counter(name, server, table)
                before = count()
                for _ in range(statements):
                    connections[name].tokens.access_token()
                per = (count() - before) / statements
                rows.append(Row(BENCH, TRIPS, name, per, target="<= 1", ok=per <= 1,
                                unit="trips", note=f"{statements} statements"))
        finally:
            for conn in connections.values():
                conn.close()
    return rows
