"""The benchmarks keep working: ``python -m benchmarks --quick`` runs every one of them.

Only that they run and report is checked here, never how fast anything is (speed is
measured by ``python -m benchmarks``, on a quiet machine, not asserted in tests).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.harness import interleave, stats

ROOT = Path(__file__).resolve().parents[2]

# One label per benchmark, as the table prints it.
BENCHMARKS = ("1 statement overhead", "2 end to end", "3 import cost",
              "4 cold first statement", "5 memory", "6 sqlglotc", "7 credential helper",
              "8 fleet token stores")


def test_quick_run_prints_a_row_for_every_benchmark() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    for label in BENCHMARKS:
        assert any(row.startswith(f"| {label}") for row in rows), (label, done.stdout)
    for case in ("repeated text", "first-seen text", "authorization URL", "RefreshOAuthAccessToken",
                 "GrantType='CLIENT'", "whole process", "fresh token in a file store"):
        assert any(case in row for row in rows), (case, done.stdout)
    assert "# targets met:" in done.stdout


def test_only_runs_the_named_benchmark() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "import"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| 3 import cost" in done.stdout
    assert "| 1 statement overhead" not in done.stdout


def test_stats_are_the_median_and_the_nearest_rank_p95() -> None:
    figures = stats([float(n) for n in range(100, 0, -1)])
    assert (figures.median, figures.p95, figures.samples) == (50.5, 95.0, 100)
    assert stats([3.0, 1.0, 2.0]).median == 2.0


def test_interleave_alternates_the_contenders_and_skips_warm_up() -> None:
    calls: list[tuple[str, int]] = []
    measured = interleave({"a": lambda i: calls.append(("a", i)),
                           "b": lambda i: calls.append(("b", i))}, rounds=3, warmup=1)
    assert calls == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2),
                     ("b", 3), ("a", 3)]
    assert measured["a"].samples == measured["b"].samples == 3
