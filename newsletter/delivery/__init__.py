"""Delivery: the Celery app, the database-driven tick, and the batch send service.

The database is the schedule and the ledger; the broker only carries "send these ids" hints,
so losing or duplicating a broker message can delay a delivery but never duplicate or drop it.
"""
