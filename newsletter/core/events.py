"""The append-only audit trail: every feature writes its events through here.

One row shape for all of them: a kind, the subscriber and series it concerns (either may be
None), a time and a small JSON dict of facts. Store ids and small facts only, never
addresses, names or tokens. The statement is a plain Core INSERT on the table, so it costs
the same through an ORM `Session` as on a bare `Connection` (the signup hot path).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from newsletter.core.db.models import Event, utcnow

_INSERT = insert(Event.__table__)


def event_row(
    kind: str,
    subscriber_id: int | None = None,
    series_id: int | None = None,
    *,
    occurred_at: dt.datetime | None = None,
    **data: Any,
) -> dict[str, Any]:
    """One event as INSERT parameters (for `record_many`)."""
    return {
        "kind": kind,
        "subscriber_id": subscriber_id,
        "series_id": series_id,
        "created_at": occurred_at or utcnow(),
        "data": data,
    }


def record(
    db: Session | Connection,
    kind: str,
    subscriber_id: int | None = None,
    series_id: int | None = None,
    *,
    occurred_at: dt.datetime | None = None,
    **data: Any,
) -> None:
    """Append one event in the caller's transaction."""
    db.execute(_INSERT, event_row(kind, subscriber_id, series_id, occurred_at=occurred_at, **data))


def record_many(db: Session | Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append many events in one executemany (bulk import)."""
    if rows:
        db.execute(_INSERT, list(rows))
