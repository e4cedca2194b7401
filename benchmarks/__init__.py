"""Benchmarks of cdata_oauth against what a user would call by hand (issue 8).

Run them all with ``python -m benchmarks`` (``--quick`` for the CI smoke run); each module
is one benchmark with a ``run(Options) -> list[Row]``.
"""
