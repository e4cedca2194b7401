"""Benchmark 5: memory of a long-lived connection.

100,000 executes of varied statements on one connection (repeated texts with varied
parameters, texts seen once, wildcard columns that differ per call, failing statements,
system-table SELECTs, new cursors). Resident memory may grow by <= 5 MiB once warm:
every cache the connector keeps must be bounded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import psutil

import cdata_oauth

from .fixtures import bench_connection
from .harness import Options, Row

NAME = "memory"
BENCH = "5 memory"
LIMIT_MIB = 5.0


def _statements(cursor_of: Callable[[], cdata_oauth.Cursor]) -> Callable[[int], None]:
    """The i-th statement of the mix; each kind stresses a different cache or path."""

    def one(i: int) -> None:
        cursor = cursor_of()
        kind = i % 10
        if kind in (0, 1, 2):
            cursor.execute("EXEC BenchNoop Name=?, Count=?, Flag='ON'", (f"n{i}", i))
        elif kind in (3, 4):
            cursor.execute(f"EXEC BenchEcho Name=@name, [OAuthParam:f{i % 97}]=@v",
                           {"name": "x", "v": str(i)})
        elif kind == 5:
            cursor.execute(f"EXEC BenchNoop Name='once-{i}', Count={i}")  # never repeats
        elif kind == 6 and i % 1000 == 6:
            cursor.execute("SELECT ProcedureName FROM sys_procedures WHERE ProcedureName = ?",
                           ("BenchNoop",))
        elif kind == 7 and i % 50 == 7:
            try:
                cursor.execute(f"EXEC BenchNoop Nope{i % 7}=1")
            except cdata_oauth.ProgrammingError:
                return
        else:
            cursor.execute("EXEC BenchEcho Name='same', Count=1")
        cursor.fetchall()

    return one


def run(opts: Options) -> list[Row]:
    total = opts.n(100_000, 3_000)
    warm = total // 20
    process = psutil.Process()
    with bench_connection() as connection:
        state = {"cursor": connection.cursor()}

        def cursor_of() -> cdata_oauth.Cursor:
            return state["cursor"]

        statement = _statements(cursor_of)
        for i in range(warm):
            statement(i)
        gc.collect()
        before = process.memory_info().rss
        for i in range(warm, total):
            if i % 1000 == 0:
                state["cursor"].close()
                state["cursor"] = connection.cursor()
            statement(i)
        gc.collect()
        after = process.memory_info().rss
    growth = (after - before) / 2**20
    return [Row(BENCH, f"{total - warm:,} executes after {warm:,} warm-up", "RSS growth",
                growth, unit="MiB", target=f"<= {LIMIT_MIB:g} MiB", ok=growth <= LIMIT_MIB,
                note=f"RSS {after / 2**20:.1f} MiB at the end")]
