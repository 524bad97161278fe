"""The double opt-in confirmation mail: when one is queued, and what it says.

A confirmation is a row in the `mail` outbox, inserted in the same transaction as the signup
or import that asks for it (`queue`, `queue_many`), so it exists before any broker is
involved and a broker outage can delay it but never lose it. After commit the caller wakes a
worker (`tasks.wake`); if that fails, the next tick picks the row up.

Claiming, sending, retrying and the operator's view of the row are the delivery feature's
(`delivery.oneoff`), which calls back down here for the message itself (`compose`), so what
a confirmation says stays with the subscribers feature. Payloads are ids: the person is
re-read at send time, and someone who left or was erased meanwhile gets nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from newsletter.core.db.models import Mail, MailKind, MailStatus, Series, Subscriber
from newsletter.core.settings import Settings, get_settings
from newsletter.core.tokens import make_token
from newsletter.mail.oneoff import one_off_bytes
from newsletter.render import render_email
from newsletter.subscribers.lifecycle import REACHABLE

MAIL = Mail.__table__
_INSERT = insert(MAIL).returning(MAIL.c.id)


class NotSendable(Exception):
    """Nothing to send any more: the person left, was suppressed or erased (ids only)."""


@dataclass(frozen=True)
class Composed:
    """One message ready for the wire."""

    envelope_from: str
    to_addr: str
    data: bytes


def confirm_url(subscriber_id: int, series_id: int) -> str:
    token = make_token("confirm", subscriber_id, series_id)
    return f"{get_settings().base_url.rstrip('/')}/confirm/{token}"


def mail_row(subscriber_id: int, series_id: int, now: dt.datetime) -> dict[str, Any]:
    """The outbox row of one confirmation, due at once."""
    return {
        "kind": MailKind.CONFIRMATION,
        "subscriber_id": subscriber_id,
        "series_id": series_id,
        "status": MailStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def queue(db: Session | Connection, subscriber_id: int, series_id: int, now: dt.datetime) -> int:
    """Insert one confirmation row in the caller's transaction; returns its id.

    A plain Core INSERT, so it costs the same on the signup hot path's bare connection.
    """
    return db.execute(_INSERT, mail_row(subscriber_id, series_id, now)).scalar_one()


def queue_many(
    session: Session, subscriber_ids: Sequence[int], series_id: int, now: dt.datetime
) -> list[int]:
    """Insert a confirmation row per person (the import), in one statement; their ids."""
    if not subscriber_ids:
        return []
    return list(
        session.scalars(
            insert(Mail).returning(Mail.id, sort_by_parameter_order=True),
            [mail_row(i, series_id, now) for i in subscriber_ids],
        )
    )


def compose(
    session: Session,
    subscriber_id: int | None,
    series_id: int | None,
    message_id: str,
    settings: Settings | None = None,
) -> Composed:
    """The confirmation mail as it must go out now; `NotSendable` when it must not.

    Someone pending or active may get one (an active person confirms a second series);
    anyone who unsubscribed, bounced, complained or was erased meanwhile may not.
    """
    settings = settings or get_settings()
    subscriber = session.get(Subscriber, subscriber_id) if subscriber_id is not None else None
    series = session.get(Series, series_id) if series_id is not None else None
    if subscriber is None or series is None or subscriber.email is None:
        raise NotSendable(f"subscriber {subscriber_id} or series {series_id} is gone")
    if subscriber.status not in REACHABLE:
        raise NotSendable(f"subscriber {subscriber.id} is {subscriber.status}")
    subject, html, text = render_email(
        "confirm",
        {
            "series_title": series.title,
            "name": subscriber.name,
            "confirm_url": confirm_url(subscriber.id, series.id),
        },
    )
    envelope_from, data = one_off_bytes(
        settings,
        to_addr=subscriber.email,
        to_name=subscriber.name,
        subject=subject,
        html=html,
        text=text,
        list_slug=series.slug,
        idstring=f"confirm{subscriber.id}",
        message_id=message_id,
    )
    return Composed(envelope_from, subscriber.email, data)
