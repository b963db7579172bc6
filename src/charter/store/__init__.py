"""Storage at the edges: decision logs as Parquet (queried with DuckDB), and the operational SQL
store (`charter.store.sql`) that review work and the enforcement service share."""
