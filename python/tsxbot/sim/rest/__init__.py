"""The REST endpoints (``/api/...``), one module per area."""
