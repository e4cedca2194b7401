"""Benchmark 6 (optional): benchmark 1's first-seen figure with sqlglot compiled (sqlglotc).

sqlglotc overlays compiled modules onto sqlglot, so it cannot be switched on and off inside
one process: the figure comes from a child interpreter that has it. That interpreter is
``$BENCH_SQLGLOTC_PYTHON`` when set (e.g. a venv with ``pip install "sqlglot[c]==<the
installed sqlglot version>"``), else this one. Without sqlglotc a row says it was skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .harness import Options, Row, Stats, ratio_rows

NAME = "sqlglotc"
BENCH = "6 sqlglotc (optional)"
ENV = "BENCH_SQLGLOTC_PYTHON"


def sqlglotc_active() -> bool:
    """True when this interpreter's sqlglot runs compiled (sqlglotc installed and matching)."""
    import sqlglot.tokens

    return bool(getattr(sqlglot.tokens, "SQLGLOTC_INSTALLED", False))


def child(quick: bool) -> None:
    """In the interpreter under test: benchmark 1's first-seen case, printed as JSON."""
    from importlib.metadata import version

    from . import statement

    if not sqlglotc_active():
        print(json.dumps({"installed": False, "sqlglot": version("sqlglot")}))
        return
    measured = statement.first_seen(Options(quick=quick))
    print(json.dumps({"installed": True, "sqlglot": version("sqlglot"),
                      "stats": {k: [v.median, v.p95, v.samples] for k, v in measured.items()}}))


def run(opts: Options) -> list[Row]:
    python = os.environ.get(ENV) or sys.executable
    done = subprocess.run(
        [python, "-c", f"from benchmarks.sqlglotc import child; child({opts.quick})"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        raise RuntimeError(f"the sqlglotc child failed:\n{done.stderr}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if not answer["installed"]:
        note = (f"skipped: sqlglotc is not installed for {python} (sqlglot "
                f"{answer['sqlglot']}); pip install \"sqlglot[c]=={answer['sqlglot']}\" or "
                f"set {ENV}")
        print(f"# {BENCH}: {note}")
        return [Row(BENCH, "first-seen text", "skipped", None, note=note)]
    from . import statement

    measured = {name: Stats(*figures) for name, figures in answer["stats"].items()}
    return ratio_rows(BENCH, f"first-seen text, sqlglot {answer['sqlglot']} + sqlglotc",
                      measured, statement.PARSE,
                      notes={statement.EXECUTE: "reported, no target (compiled parse)"})
