"""The Faust wiring: ingest (decode, validate, route by account) -> accounts (apply, emit)."""
