"""The append-only audit trail: one helper so every module writes events the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from newsletter.core.db import models


def record(
    session: Session, kind: str, subscriber_id: int | None, series_id: int | None, **data: Any
) -> models.Event:
    """Append one event. Store ids and small facts only, never addresses or names."""
    event = models.Event(
        kind=kind,
        subscriber_id=subscriber_id,
        series_id=series_id,
        data=data,
        created_at=models.utcnow(),
    )
    session.add(event)
    return event
