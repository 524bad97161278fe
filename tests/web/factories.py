"""Rows for the web tests, made through the scheduling service like production does."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from newsletter import content
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    IssueStatus,
    Series,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.scheduling.series import create_series

QUOTE = "Work is organised by people, not by clouds."


def make_content(slug: str, parts: int) -> content.Series:
    essays = tuple(
        content.Essay(
            number=n,
            title=f"Essay {n} & <friends>",
            slug=f"essay-{n}",
            blocks=(
                content.Block("paragraph", f"Part {n} opens. Tom & Jerry <script>x</script>."),
                content.Block("pull_quote", QUOTE),
                content.Block("paragraph", f"Part {n} closes."),
            ),
        )
        for n in range(1, parts + 1)
    )
    return content.Series(
        slug=slug,
        title=f"{slug.title()} Letters",
        essays=essays,
        description="Essays on labour and technology.",
        author="A. Writer",
    )


def make_series(
    session: Session,
    slug: str = "labor",
    parts: int = 3,
    published: int = 0,
    mode: str = "broadcast",
) -> Series:
    """Parts are weekly from next week; the first `published` are marked as sent."""
    start = (utcnow() + dt.timedelta(days=7)).replace(microsecond=0)
    series = create_series(
        session, slug, make_content(slug, parts), "weekly", start, "Europe/Berlin", mode
    )
    for issue in series.issues[:published]:
        issue.status = IssueStatus.SENT
        issue.fanned_out_at = utcnow()
        issue.scheduled_at = utcnow() - dt.timedelta(days=1)
    session.flush()
    return series


def make_subscriber(
    session: Session,
    series: Series,
    email: str = "reader@example.com",
    status: str = SubscriberStatus.ACTIVE,
    subscription: str = SubscriptionStatus.ACTIVE,
) -> Subscriber:
    subscriber = Subscriber(email=email, email_key=email.lower(), name="Reader", status=status)
    session.add(subscriber)
    session.flush()
    session.add(Subscription(subscriber_id=subscriber.id, series_id=series.id, status=subscription))
    session.flush()
    return subscriber


def make_delivery(
    session: Session,
    series: Series,
    subscriber: Subscriber | None,
    number: int,
    status: str,
    error: str | None = None,
) -> Delivery:
    issue = next(i for i in series.issues if i.number == number)
    delivery = Delivery(
        issue_id=issue.id,
        subscriber_id=subscriber.id if subscriber else None,
        status=status,
        attempts=1,
        last_error=error,
        sent_at=utcnow() - dt.timedelta(minutes=3) if status == DeliveryStatus.SENT else None,
    )
    session.add(delivery)
    session.flush()
    return delivery
