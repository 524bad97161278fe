"""Rows for delivery tests, inserted directly so the tests depend only on the schema."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    Essay,
    Issue,
    IssueStatus,
    Series,
    Subscriber,
    Subscription,
)

T0 = dt.datetime(2030, 1, 7, 9, 0)  # a fixed "now" for unit tests; real tests use utcnow()
PULL_QUOTE = "The ledger remembers what the broker forgets."


def essay_blocks(number: int) -> list[dict[str, str]]:
    return [
        {"type": "paragraph", "text": f"Part {number} opens. Work is organised by people."},
        {"type": "pull_quote", "text": PULL_QUOTE},
        {"type": "paragraph", "text": f"Part {number} closes with a second paragraph."},
    ]


def make_series(
    session: Session,
    *,
    slug: str = "letters",
    mode: str = "broadcast",
    parts: int = 1,
    start: dt.datetime = T0,
    cadence: str = "daily",
    timezone: str = "UTC",
    status: str = "active",
) -> Series:
    """A series with `parts` essays/issues; broadcast issues one day apart from `start`."""
    series = Series(
        slug=slug,
        title=f"{slug.title()} Series",
        description="",
        author="Tester",
        mode=mode,
        cadence=cadence,
        timezone=timezone,
        start_at=start,
        status=status,
    )
    session.add(series)
    for number in range(1, parts + 1):
        essay = Essay(
            number=number,
            title=f"Essay {number}",
            slug=f"essay-{number}",
            subject=None,
            preheader=None,
            blocks=essay_blocks(number),
        )
        series.essays.append(essay)
        series.issues.append(
            Issue(
                number=number,
                essay=essay,
                scheduled_at=start + dt.timedelta(days=number - 1) if mode == "broadcast" else None,
                status=IssueStatus.SCHEDULED if mode == "broadcast" else IssueStatus.SERIAL,
            )
        )
    session.flush()
    return series


def add_subscribers(
    session: Session,
    series: Series,
    count: int,
    *,
    prefix: str = "reader",
    status: str = "active",
    subscription_status: str = "active",
    next_due_at: dt.datetime | None = None,
) -> list[int]:
    """`count` subscribers of `series` (bulk inserted); returns their ids in order."""
    start = session.scalar(select(func.count(Subscriber.id))) or 0
    rows = [
        {
            "email": f"{prefix}{start + i}@example.org",
            "email_key": f"{prefix}{start + i}@example.org",
            "name": f"Reader {start + i}",
            "status": status,
            "source": "cli",
            "created_at": T0,
            "confirmed_at": T0,
        }
        for i in range(count)
    ]
    ids = list(session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
    if mode_is_serial(series) and next_due_at is None:
        next_due_at = T0
    session.execute(
        insert(Subscription),
        [
            {
                "subscriber_id": sid,
                "series_id": series.id,
                "status": subscription_status,
                "created_at": T0,
                "next_part": 1,
                "next_due_at": next_due_at if mode_is_serial(series) else None,
            }
            for sid in ids
        ],
    )
    return sorted(ids)


def mode_is_serial(series: Series) -> bool:
    return series.mode == "serial"


def deliveries(session: Session) -> list[Delivery]:
    return list(session.scalars(select(Delivery).order_by(Delivery.id)))
