"""Test data, one way each: content, a series, subscribers, deliveries and console accounts.

A series is made by the scheduling service (`create_series`), as production does, from
content with markup in its text on purpose (pages and mails must escape it). Subscribers,
subscriptions and deliveries are inserted directly, so a test can put them in any state
without going through signup and the pipeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from newsletter import content
from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Essay,
    IssueStatus,
    Series,
    SeriesStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.core.db.session import transaction
from newsletter.scheduling.series import create_series
from newsletter.users import service as users
from newsletter.users.models import User

T0 = dt.datetime(2030, 1, 7, 9, 0)  # a fixed "now" for unit tests; real tests use utcnow()
PULL_QUOTE = "Work is organised by people, not by clouds."
PASSWORD = "correct horse battery staple"

# -- content -----------------------------------------------------------------------------

EssaySpec = tuple[str, tuple[tuple[str, str], ...]]


def build_series(
    *essays: EssaySpec,
    title: str = "Small Series",
    slug: str = "small-series",
    essay_slug: str = "part",
    description: str = "",
    author: str = "",
) -> content.Series:
    """A content series from (title, ((type, text), ...)) pairs, numbered from 1."""
    built = tuple(
        content.Essay(
            number=n,
            title=essay_title,
            slug=f"{essay_slug}-{n}",
            blocks=tuple(content.Block(type=kind, text=text) for kind, text in blocks),  # type: ignore[arg-type]
        )
        for n, (essay_title, blocks) in enumerate(essays, start=1)
    )
    return content.Series(
        slug=slug, title=title, essays=built, description=description, author=author
    )


def essay_blocks(number: int) -> tuple[tuple[str, str], ...]:
    return (
        ("paragraph", f"Part {number} opens. Tom & Jerry <script>x</script>."),
        ("pull_quote", PULL_QUOTE),
        ("paragraph", f"Part {number} closes."),
    )


def make_content(
    slug: str = "labor",
    parts: int = 3,
    *,
    title: str | None = None,
    author: str = "A. Writer",
    description: str = "Essays on labour and technology.",
) -> content.Series:
    """`parts` essays "Essay N & <friends>"; the series title defaults to "<Slug> Letters"."""
    return build_series(
        *((f"Essay {n} & <friends>", essay_blocks(n)) for n in range(1, parts + 1)),
        title=title or f"{slug.title()} Letters",
        slug=slug,
        essay_slug="essay",
        description=description,
        author=author,
    )


# -- series ------------------------------------------------------------------------------


def make_series(
    session: Session,
    slug: str = "letters",
    parts: int = 1,
    *,
    mode: str = "broadcast",
    start: dt.datetime = T0,
    cadence: str = "daily",
    timezone: str = "UTC",
    status: str = SeriesStatus.ACTIVE,
    published: int = 0,
    title: str | None = None,
    author: str = "A. Writer",
) -> Series:
    """A series of `parts` essays and issues, scheduled by `create_series` from `start`
    (local wall time in `timezone`); the first `published` parts are marked as sent."""
    series = create_series(
        session,
        slug,
        make_content(slug, parts, title=title, author=author),
        cadence,
        start,
        timezone,
        mode,
        allow_past=True,
    )
    series.status = status
    for issue in series.issues[:published]:
        issue.status = IssueStatus.SENT
        issue.fanned_out_at = utcnow()
        issue.scheduled_at = utcnow() - dt.timedelta(days=1)
    session.flush()
    return series


def poison(session: Session, series_id: int, text: str) -> None:
    """Put `text` into the stored snapshot of every essay of a series, where the importer
    and `create_series` would no longer let it in (poison-isolation tests, chaos bench)."""
    blocks = [{"type": "paragraph", "text": f"Part 1 opens {text}here."}]
    session.execute(update(Essay).where(Essay.series_id == series_id).values(blocks=blocks))


def add_series(slug: str = "labor", mode: str = "broadcast", parts: int = 3) -> int:
    """Commit the scheduling tests' series, "Tech Labor" by "Ed": weekly from 2026-12-01
    09:00 Berlin time. Returns its id."""
    with transaction() as session:
        series = make_series(
            session,
            slug,
            parts,
            mode=mode,
            start=dt.datetime(2026, 12, 1, 9, 0),
            cadence="weekly",
            timezone="Europe/Berlin",
            title="Tech Labor",
            author="Ed",
        )
        return series.id


def setup_issue(count: int) -> tuple[int, list[int]]:
    """Commit one due broadcast issue with `count` subscribers; returns (series id, subscriber
    ids)."""
    with transaction() as session:
        series = make_series(session, start=utcnow() - dt.timedelta(minutes=1))
        return series.id, add_subscribers(session, series, count)


# -- subscribers -------------------------------------------------------------------------


def add_subscribers(
    session: Session,
    series: Series,
    count: int,
    *,
    prefix: str = "reader",
    emails: list[str] | None = None,
    name: str | None = None,
    status: str = SubscriberStatus.ACTIVE,
    subscription_status: str = SubscriptionStatus.ACTIVE,
    next_due_at: dt.datetime | None = T0,
    created_at: dt.datetime | None = T0,
    confirmed_at: dt.datetime | None = T0,
    source: str | None = "cli",
) -> list[int]:
    """`count` subscribers of `series` (bulk inserted); returns their ids in order.

    Addresses are `<prefix><n>@example.org` unless `emails` names them. `next_due_at` only
    applies to serial series. A None timestamp or source leaves the column's default.
    """
    start = session.scalar(select(func.count(Subscriber.id))) or 0
    emails = emails or [f"{prefix}{start + i}@example.org" for i in range(count)]
    assert len(emails) == count
    optional = {"created_at": created_at, "confirmed_at": confirmed_at, "source": source}
    rows = [
        {
            "email": email,
            "email_key": email.lower(),
            "name": name if name is not None else f"Reader {start + i}",
            "status": status,
            **{key: value for key, value in optional.items() if value is not None},
        }
        for i, email in enumerate(emails)
    ]
    ids = list(session.scalars(insert(Subscriber).returning(Subscriber.id), rows))
    serial = series.mode == "serial"
    session.execute(
        insert(Subscription),
        [
            {
                "subscriber_id": sid,
                "series_id": series.id,
                "status": subscription_status,
                "next_part": 1,
                "next_due_at": next_due_at if serial else None,
                **({"created_at": created_at} if created_at is not None else {}),
            }
            for sid in ids
        ],
    )
    return sorted(ids)


def make_subscriber(
    session: Session,
    series: Series,
    email: str = "reader@example.com",
    status: str = SubscriberStatus.ACTIVE,
    subscription: str = SubscriptionStatus.ACTIVE,
) -> Subscriber:
    """One subscriber as a web signup leaves it: created now, the column defaults otherwise."""
    (subscriber_id,) = add_subscribers(
        session,
        series,
        1,
        emails=[email],
        name="Reader",
        status=status,
        subscription_status=subscription,
        next_due_at=None,
        created_at=None,
        confirmed_at=None,
        source=None,
    )
    return session.get_one(Subscriber, subscriber_id)


# -- deliveries --------------------------------------------------------------------------


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


# -- console accounts --------------------------------------------------------------------


@dataclass
class Account:
    id: int
    email: str
    role: str
    password: str = PASSWORD


def make_account(role: str, email: str | None = None) -> Account:
    email = email or f"{role}@example.com"
    with transaction() as session:
        user = users.create_user(session, email, PASSWORD, role)
        return Account(user.id, user.email, role)


def api_token(account: Account) -> str:
    with transaction() as session:
        return users.issue_token(session, session.get(User, account.id))
