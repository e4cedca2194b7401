"""The shared harness: interleaved timing, median/p95, ratios to a reference, the table.

Contenders of one case run in turns (A B C A B C ...), so that drift of a shared, busy
machine (other processes, CPU frequency, caches) hits them all alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Options", "Row", "Stats", "format_table", "interleave", "ratio_rows", "stats"]


@dataclass(frozen=True)
class Options:
    """How hard to try: ``quick`` is the CI smoke run (few iterations, seconds in all)."""

    quick: bool = False

    def n(self, full: int, quick: int) -> int:
        """The iteration count for this mode."""
        return quick if self.quick else full


@dataclass(frozen=True)
class Stats:
    """Per-call figures of one contender, in seconds."""

    median: float
    p95: float
    samples: int


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    ``value`` and ``p95`` are seconds unless ``unit`` says otherwise ("MiB", "%", ...);
    ``ratio`` is to the case's reference; ``ok`` is None when there is no target.
    """

    bench: str
    case: str
    contender: str
    value: float | None
    p95: float | None = None
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    unit: str = "s"
    note: str = ""


def stats(samples: Sequence[float]) -> Stats:
    """Median and 95th percentile (nearest rank) of per-call times."""
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples")
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    rank = max(math.ceil(0.95 * len(ordered)) - 1, 0)
    return Stats(median, ordered[rank], len(ordered))


def interleave(contenders: Mapping[str, Callable[[int], object]], rounds: int,
               warmup: int = 0) -> dict[str, Stats]:
    """Time each contender once per round, in turns; ``fn(i)`` gets the call's index.

    The order rotates every round (A B C, B C A, ...) so no contender always runs right
    after the same neighbour. Warm-up calls are made, interleaved too, and not counted.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for index in range(warmup + rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            fn = contenders[name]
            start = clock()
            fn(index)
            elapsed = clock() - start
            if index >= warmup:
                samples[name].append(elapsed)
    return {name: stats(values) for name, values in samples.items()}


def ratio_rows(bench: str, case: str, measured: Mapping[str, Stats], reference: str,
               targets: Mapping[str, tuple[str, float, str]] | None = None,
               notes: Mapping[str, str] | None = None) -> list[Row]:
    """Rows for one case: each contender's median and p95, and its ratio to ``reference``.

    ``targets`` maps a contender to (text, limit, against): the contender's median must be
    <= limit times the median of ``against`` ("<" in the text makes it strict).
    """
    targets = targets or {}
    notes = notes or {}
    base = measured[reference].median
    rows = []
    for name, figures in measured.items():
        ok: bool | None = None
        text = ""
        if name in targets:
            text, limit, against = targets[name]
            bound = limit * measured[against].median
            ok = figures.median < bound if text.startswith("<") and not text.startswith("<=") \
                else figures.median <= bound
        rows.append(Row(bench, case, name, figures.median, figures.p95,
                        figures.median / base if base else None, text, ok,
                        note=notes.get(name, "")))
    return rows


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit != "s":
        return f"{value:.2f} {unit}"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} us"


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table (also valid Markdown) of every row."""
    header = ("bench", "case", "contender", "median", "p95", "ratio", "target", "met", "note")
    lines = [header]
    for row in rows:
        met = "-" if row.ok is None else ("yes" if row.ok else "NO")
        ratio = "-" if row.ratio is None else f"{row.ratio:.3f}x"
        lines.append((row.bench, row.case, row.contender, _quantity(row.value, row.unit),
                      _quantity(row.p95, row.unit), ratio, row.target or "-", met,
                      row.note))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [render(lines[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(render(line) for line in lines[1:])
    return "\n".join(out)
