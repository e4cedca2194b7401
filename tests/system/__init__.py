"""System tests: the package as users run it (CLI, demo, SQLAlchemy, pandas, benchmarks)."""
