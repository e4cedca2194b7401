"""Benchmark 3: the cost of ``import cdata_oauth``, as whole processes.

``python -c "import cdata_oauth"`` against ``python -c "import requests"``: target <= 1.10x.
The package imports sqlglot, requests, oauthlib and the rest at first use, not here.
``python -c pass`` is shown as the floor (interpreter start-up), without a target.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from .harness import Options, Row, interleave, ratio_rows

NAME = "import"
BENCH = "3 import cost"
OURS = "python -c 'import cdata_oauth'"
REFERENCE = "python -c 'import requests'"
FLOOR = "python -c 'pass' (start-up floor)"


def _process(code: str) -> Callable[[int], None]:
    def run(_: int) -> None:
        subprocess.run([sys.executable, "-c", code], check=True)

    return run


def run(opts: Options) -> list[Row]:
    measured = interleave({
        OURS: _process("import cdata_oauth"),
        REFERENCE: _process("import requests"),
        FLOOR: _process("pass"),
    }, rounds=opts.n(40, 3), warmup=1)
    rows = ratio_rows(BENCH, "whole process", measured, REFERENCE,
                      {OURS: ("<= 1.10x requests", 1.10, REFERENCE)})
    floor = measured[FLOOR].median
    ours_net = measured[OURS].median - floor
    reference_net = measured[REFERENCE].median - floor
    rows.append(Row(BENCH, "net of start-up", "import cdata_oauth", ours_net,
                    ratio=ours_net / reference_net if reference_net > 0 else None,
                    note="median minus the floor; ratio to import requests"))
    return rows
