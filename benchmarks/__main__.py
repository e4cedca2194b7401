"""``python -m benchmarks [--quick] [--only NAME ...]``: run the benchmarks, print a table.

Exits 0 whether or not a target is met (CI checks that they run, not their speed);
``--strict`` exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from types import ModuleType

from . import (
    cold_start,
    credential_helper,
    end_to_end,
    fleet_stores,
    import_cost,
    memory,
    sqlglotc,
    statement,
)
from .harness import Options, Row, format_table

MODULES: tuple[ModuleType, ...] = (statement, end_to_end, import_cost, cold_start, memory,
                                   sqlglotc, credential_helper, fleet_stores)


def machine() -> str:
    """nproc, CPU model, Python: what a reader needs to weigh the figures."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="few iterations: checks that every benchmark runs (CI)")
    parser.add_argument("--only", nargs="+", choices=[m.NAME for m in MODULES],
                        metavar="NAME", help="run only these: "
                        + ", ".join(m.NAME for m in MODULES))
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    opts = Options(quick=args.quick)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# cdata_oauth benchmarks{' (quick)' if opts.quick else ''}, {now}")
    print(f"# {machine()}")
    rows: list[Row] = []
    for module in MODULES:
        if args.only and module.NAME not in args.only:
            continue
        started = time.perf_counter()
        print(f"# running {module.NAME} ...", file=sys.stderr, flush=True)
        found: list[Row] = module.run(opts)
        rows.extend(found)
        print(f"# {module.NAME}: {time.perf_counter() - started:.1f} s", file=sys.stderr,
              flush=True)
    print(format_table(rows))
    missed = [r for r in rows if r.ok is False]
    met = sum(1 for r in rows if r.ok)
    print(f"# targets met: {met}/{met + len(missed)}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
