"""Statistics from the protocol's analysis plan (pure: datasets in, tables out)."""
