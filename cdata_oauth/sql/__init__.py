"""SQL text -> statement templates (sqlglot, T-SQL), the shape cache, SELECT runs."""
