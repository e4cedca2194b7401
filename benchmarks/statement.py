"""Benchmark 1: what a statement costs on top of its operation.

``cursor.execute`` of an EXEC whose operation does nothing, against
``sqlglot.parse_one(text, read="tsql")`` of the same text: a repeated text must cost
<= 0.10x the parse (the parse cache works); a text seen for the first time <= 1.2x, and
<= 1.1x when its shape is new too.

First-seen texts come in two kinds: new values in a known shape (``Name='a-17'`` after
``Name='a-16'``: the connector reuses the shape's parse), and a new shape too (each text
names another ``OAuthParam:`` input, so nothing of it was seen before).

A repeated ``EXEC GetOAuthAuthorizationURL`` runs a real operation that sends nothing: it
builds an authorization URL (state, PKCE verifier and challenge, query string) and must
cost <= 0.25x the parse of its text.
"""

from __future__ import annotations

import uuid

from .fixtures import bench_connection
from .harness import Options, Row, Stats, interleave, ratio_rows

NAME = "statement"
BENCH = "1 statement overhead"
EXECUTE = "cursor.execute EXEC (no-op operation)"
PARSE = "sqlglot.parse_one(tsql)"
REPEATED_TEXT = "EXEC BenchNoop Name='alpha', Count=3, Flag='ON'"
AUTH_URL = "cursor.execute EXEC GetOAuthAuthorizationURL"
AUTH_URL_TEXT = "EXEC GetOAuthAuthorizationURL Scope='read write', [OAuthParam:prompt]='consent'"


def unique_texts(count: int) -> list[str]:
    """Statements no cache has seen: a fresh tag makes every text new to this process."""
    tag = uuid.uuid4().hex[:8]
    return [f"EXEC BenchNoop Name='{tag}-{i}', Count={i}, Flag='ON'" for i in range(count)]


def repeated(opts: Options) -> dict[str, Stats]:
    import sqlglot

    with bench_connection() as connection:
        cursor = connection.cursor()
        return interleave({
            EXECUTE: lambda i: cursor.execute(REPEATED_TEXT),
            PARSE: lambda i: sqlglot.parse_one(REPEATED_TEXT, read="tsql"),
        }, rounds=opts.n(3000, 60), warmup=opts.n(200, 5))


def unique_shapes(count: int) -> list[str]:
    """Statements whose very shape is new: each names another wildcard input."""
    tag = uuid.uuid4().hex[:8]
    return [f"EXEC BenchNoop Name='{tag}', Count={i}, [OAuthParam:f{tag}{i}]='x', Flag='ON'"
            for i in range(count)]


def first_seen(opts: Options, new_shapes: bool = False) -> dict[str, Stats]:
    import sqlglot

    rounds, warmup = opts.n(1500, 40), opts.n(100, 5)
    texts = (unique_shapes if new_shapes else unique_texts)(rounds + warmup)
    with bench_connection() as connection:
        cursor = connection.cursor()
        cursor.execute(REPEATED_TEXT)  # sqlglot and the catalog loaded, as in a warm process
        return interleave({
            EXECUTE: lambda i: cursor.execute(texts[i]),
            PARSE: lambda i: sqlglot.parse_one(texts[i], read="tsql"),
        }, rounds=rounds, warmup=warmup)


def authorization_url(opts: Options) -> dict[str, Stats]:
    import sqlglot

    with bench_connection(OAuthAuthorizationURL="https://login.example/authorize") as connection:
        cursor = connection.cursor()
        return interleave({
            AUTH_URL: lambda i: cursor.execute(AUTH_URL_TEXT),
            PARSE: lambda i: sqlglot.parse_one(AUTH_URL_TEXT, read="tsql"),
        }, rounds=opts.n(3000, 60), warmup=opts.n(200, 5))


def run(opts: Options) -> list[Row]:
    rows = ratio_rows(BENCH, "repeated text", repeated(opts), PARSE,
                      {EXECUTE: ("<= 0.10x parse", 0.10, PARSE)})
    rows += ratio_rows(BENCH, "first-seen text, known shape", first_seen(opts), PARSE,
                       {EXECUTE: ("<= 1.2x parse", 1.2, PARSE)})
    rows += ratio_rows(BENCH, "first-seen text, new shape", first_seen(opts, True), PARSE,
                       {EXECUTE: ("<= 1.1x parse", 1.1, PARSE)})
    rows += ratio_rows(BENCH, "authorization URL, repeated text", authorization_url(opts), PARSE,
                       {AUTH_URL: ("<= 0.25x parse", 0.25, PARSE)})
    return rows
