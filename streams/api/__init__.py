"""The HTTP edge: each worker serves the API on STREAMS_WEB_PORT (see ../shared/CONTRACT.md)."""
