"""Storage at the edges: decision logs as Parquet (queried with DuckDB)."""
