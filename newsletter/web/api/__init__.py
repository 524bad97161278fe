"""The JSON API, /api/v1: one router module per feature, pydantic models in `models`."""
