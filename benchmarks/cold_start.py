"""Benchmark 4: the cold first statement, and how much of it is importing sqlglot.

A new process imports cdata_oauth, connects and runs one ``EXEC GetOAuthAuthorizationURL``
with OAuthVersion=2.0 (no network). Two variants run in turns: "plain" times the whole
thing; "split" does the same but imports sqlglot (with its T-SQL dialect) on its own
right after cdata_oauth, to time that import inside the child.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

from .harness import Options, Row, stats

NAME = "cold_start"
BENCH = "4 cold first statement"

CHILD = """
import json, sys, time
start = time.perf_counter()
import cdata_oauth
imported = time.perf_counter()
if sys.argv[1] == "split":
    import sqlglot
    from sqlglot.dialects.dialect import Dialect
    Dialect.get_or_raise("tsql")
sqlglot_done = time.perf_counter()
connection = cdata_oauth.connect(
    OAuthVersion="2.0", OAuthClientId="bench-client",
    OAuthAuthorizationURL="https://provider.example/authorize",
    CallbackURL="http://127.0.0.1:33333/callback")
row = connection.execute("EXEC GetOAuthAuthorizationURL").fetchone()
assert row is not None and str(row[0]).startswith("https://provider.example/authorize?"), row
end = time.perf_counter()
print(json.dumps({"total": end - start, "package": imported - start,
                  "sqlglot": sqlglot_done - imported}))
"""


def _child(variant: str, wall: list[float], inside: list[dict[str, float]]
           ) -> Callable[[int], None]:
    def run(_: int) -> None:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", CHILD, variant], check=True,
                              capture_output=True, text=True)
        wall.append(time.perf_counter() - started)
        inside.append(json.loads(done.stdout.strip().splitlines()[-1]))

    return run


def run(opts: Options) -> list[Row]:
    walls: dict[str, list[float]] = {"plain": [], "split": []}
    figures: dict[str, list[dict[str, float]]] = {"plain": [], "split": []}
    rounds = opts.n(25, 2)
    runners = {v: _child(v, walls[v], figures[v]) for v in ("plain", "split")}
    for index in range(rounds):  # plain split, split plain, ...
        order = ("plain", "split") if index % 2 == 0 else ("split", "plain")
        for variant in order:
            runners[variant](index)
    wall = stats(walls["plain"])
    total = stats([f["total"] for f in figures["plain"]])
    split_total = stats([f["total"] for f in figures["split"]])
    package = stats([f["package"] for f in figures["plain"]])
    sqlglot = stats([f["sqlglot"] for f in figures["split"]])
    share = sqlglot.median / split_total.median
    return [
        Row(BENCH, "new process", "python start to first row (wall)", wall.median, wall.p95),
        Row(BENCH, "new process", "import + connect + EXEC (in child)", total.median,
            total.p95),
        Row(BENCH, "new process", "of which import cdata_oauth", package.median, package.p95,
            ratio=package.median / total.median, note="ratio = share of the in-child time"),
        Row(BENCH, "new process", "of which import sqlglot (+T-SQL dialect)", sqlglot.median,
            sqlglot.p95, ratio=share, note="ratio = share of the in-child time"),
    ]
