"""Pure trial rules: frozen data in, decisions out (no database, no network)."""
