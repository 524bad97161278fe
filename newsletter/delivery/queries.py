"""Read queries of the delivery ledger: progress per issue and per series, rates, failures;
and of the `mail` outbox of one-off mail (confirmations): counts and troubles.

The operator view (`monitor`), the console, the API, the CLI and the demo all read delivery
progress through here, so they count the same rows the same way. Writes go through the
services (`tick`, `send`, `ledger`, `retry`, `control`); nothing here changes a row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from newsletter.core.db import dialect
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    Mail,
    MailKind,
    MailStatus,
    Series,
    utcnow,
)
from newsletter.scheduling.queries import ScheduleView, all_series_slugs, schedule_view

RATE_WINDOW_MINUTES = 60
FAILURES_SHOWN = 20


def delivery_counts(session: Session, *where: ColumnElement[bool]) -> dict[int, dict[str, int]]:
    """Issue id → {status: deliveries} for the deliveries matching `where`.

    The one grouped count behind every progress figure; it reads the (issue_id, status)
    index.
    """
    rows = session.execute(
        select(Delivery.issue_id, Delivery.status, func.count())
        .where(*where)
        .group_by(Delivery.issue_id, Delivery.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for issue_id, status, n in rows:
        counts.setdefault(issue_id, {})[status] = int(n)
    return counts


def series_counts(session: Session, series_id: int) -> dict[int, dict[str, int]]:
    """`delivery_counts` for every part of one series."""
    parts = select(Issue.id).where(Issue.series_id == series_id)
    return delivery_counts(session, Delivery.issue_id.in_(parts))


def series_progress(session: Session, slug: str) -> ScheduleView:
    """The series' schedule with each part's deliveries per status (CLI, console, API)."""
    view = schedule_view(session, slug)
    counts = series_counts(session, view.series_id)
    parts = [dataclasses.replace(p, deliveries=counts.get(p.issue_id, {})) for p in view.parts]
    return dataclasses.replace(view, parts=parts)


def all_series_progress(session: Session) -> list[ScheduleView]:
    """`series_progress` for every series, by slug."""
    return [series_progress(session, slug) for slug in all_series_slugs(session)]


@dataclass(frozen=True)
class Timing:
    """When an issue's first delivery row was made and its last message accepted."""

    first_created: dt.datetime | None
    last_sent: dt.datetime | None


def issue_timings(session: Session, issue_ids: Sequence[int]) -> dict[int, Timing]:
    rows = session.execute(
        select(Delivery.issue_id, func.min(Delivery.created_at), func.max(Delivery.sent_at))
        .where(Delivery.issue_id.in_(issue_ids))
        .group_by(Delivery.issue_id)
    )
    return {issue_id: Timing(first, last) for issue_id, first, last in rows}


def delivery_page(
    session: Session, *, after_id: int, limit: int, status: str | None, issue_id: int | None
) -> list[Delivery]:
    """Deliveries by id, keyset-paged (the API)."""
    query = select(Delivery).where(Delivery.id > after_id).order_by(Delivery.id)
    if status:
        query = query.where(Delivery.status == status)
    if issue_id is not None:
        query = query.where(Delivery.issue_id == issue_id)
    return list(session.scalars(query.limit(limit)))


@dataclass
class IssueProgress:
    issue_id: int
    series_slug: str
    series_title: str
    number: int
    status: str
    scheduled_at: dt.datetime | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, status: str) -> float:
        """Fraction of this issue's deliveries in `status` (0 when there are none)."""
        return self.counts.get(status, 0) / self.total if self.total else 0.0


@dataclass
class Failure:
    delivery_id: int
    issue_id: int
    series_slug: str
    number: int
    subscriber_id: int | None
    status: str
    attempts: int
    reply: str


def deliveries_by_status(session: Session) -> dict[str, int]:
    """Every delivery status with its count (zeros included), across all issues."""
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    counts = {status: 0 for status in _ALL_DELIVERY_STATUSES}
    counts.update({status: int(n) for status, n in rows})
    return counts


_ALL_DELIVERY_STATUSES = (
    DeliveryStatus.PENDING,
    DeliveryStatus.QUEUED,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.BOUNCED,
    DeliveryStatus.SKIPPED,
)


def issue_progress(session: Session, limit: int = 20) -> list[IssueProgress]:
    """Per-issue delivery counts for the issues that have deliveries, newest first."""
    latest = (
        select(Delivery.issue_id)
        .group_by(Delivery.issue_id)
        .order_by(func.max(Delivery.id).desc())
        .limit(limit)
        .subquery()
    )
    counts = delivery_counts(session, Delivery.issue_id.in_(select(latest.c.issue_id)))
    if not counts:
        return []
    issues = session.execute(
        select(Issue, Series.slug, Series.title)
        .join(Series, Series.id == Issue.series_id)
        .where(Issue.id.in_(counts))
    ).all()
    result = [
        IssueProgress(
            issue_id=issue.id,
            series_slug=slug,
            series_title=title,
            number=issue.number,
            status=issue.status,
            scheduled_at=issue.scheduled_at,
            counts=counts[issue.id],
        )
        for issue, slug, title in issues
    ]
    return sorted(result, key=lambda p: p.issue_id, reverse=True)


def send_rate(
    session: Session, minutes: int = RATE_WINDOW_MINUTES, now: dt.datetime | None = None
) -> list[tuple[dt.datetime, int]]:
    """Messages sent per minute over the last `minutes`, oldest first, zero-filled."""
    end = (now or utcnow()).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    start = end - dt.timedelta(minutes=minutes)
    bucket = dialect.minute(session, Delivery.sent_at)
    rows = session.execute(
        select(bucket, func.count())
        .where(Delivery.sent_at >= start, Delivery.sent_at < end)
        .group_by(bucket)
    ).all()
    by_minute = {dialect.parse_minute(value): int(n) for value, n in rows}
    return [
        (start + dt.timedelta(minutes=i), by_minute.get(start + dt.timedelta(minutes=i), 0))
        for i in range(minutes)
    ]


def recent_failures(session: Session, limit: int = FAILURES_SHOWN) -> list[Failure]:
    """The newest failed or bounced deliveries, with the SMTP reply that ended them."""
    rows = session.execute(
        select(Delivery, Issue.number, Series.slug)
        .join(Issue, Issue.id == Delivery.issue_id)
        .join(Series, Series.id == Issue.series_id)
        .where(Delivery.status.in_((DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)))
        .order_by(Delivery.id.desc())
        .limit(limit)
    ).all()
    return [
        Failure(
            delivery_id=d.id,
            issue_id=d.issue_id,
            series_slug=slug,
            number=number,
            subscriber_id=d.subscriber_id,
            status=d.status,
            attempts=d.attempts,
            reply=(d.last_error or "").strip(),
        )
        for d, number, slug in rows
    ]


@dataclass
class MailTrouble:
    """A one-off mail that failed, or is waiting to retry after a refusal (`pending`)."""

    mail_id: int
    kind: str
    subscriber_id: int | None
    series_id: int | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    reply: str


def mail_by_kind(session: Session) -> dict[str, dict[str, int]]:
    """Kind → {status: rows} of the outbox, every kind and status listed (zeros included)."""
    rows = session.execute(
        select(Mail.kind, Mail.status, func.count()).group_by(Mail.kind, Mail.status)
    )
    counts = {kind: dict.fromkeys(MailStatus.ALL, 0) for kind in MailKind.ALL}
    for kind, status, n in rows:
        counts.setdefault(kind, dict.fromkeys(MailStatus.ALL, 0))[status] = int(n)
    return counts


def mail_troubles(session: Session, limit: int = FAILURES_SHOWN) -> list[MailTrouble]:
    """The newest failed one-off mails, and those still open after a refusal, with the SMTP
    reply: what an operator needs to see while a mail server is refusing confirmations."""
    rows = session.scalars(
        select(Mail)
        .where(
            (Mail.status == MailStatus.FAILED)
            | (Mail.status.in_(MailStatus.OPEN) & Mail.last_error.is_not(None))
        )
        .order_by(Mail.id.desc())
        .limit(limit)
    )
    return [
        MailTrouble(
            mail_id=m.id,
            kind=m.kind,
            subscriber_id=m.subscriber_id,
            series_id=m.series_id,
            status=m.status,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at if m.status in MailStatus.OPEN else None,
            reply=(m.last_error or "").strip(),
        )
        for m in rows
    ]
