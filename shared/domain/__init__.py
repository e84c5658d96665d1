"""Pure domain code: no Azure, Databricks or sqlite3 imports (a test walks the imports)."""
