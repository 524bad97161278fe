"""SQLAlchemy models: the state a newsletter must never lose.

Times are stored as naive UTC (`utcnow()`), because SQLite has no time zone type and mixing
aware and naive datetimes across the two backends is a classic source of bugs. Local time
only appears when a schedule is computed or displayed (see `newsletter.scheduling`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.core.db.base import NAMING, Base, utcnow
from newsletter.core.db.dialect import BigId
from newsletter.core.db.drafts import SeriesDraft
from newsletter.core.db.operations import AppState, InboundMail, InboundOutcome, WorkerHeartbeat

# Re-exported: every table is reachable as `models.X`, wherever it is defined.
__all__ = [
    "NAMING",
    "AppState",
    "Base",
    "Delivery",
    "DeliveryStatus",
    "Essay",
    "Event",
    "FirstPart",
    "InboundMail",
    "InboundOutcome",
    "Issue",
    "IssueStatus",
    "LateJoiners",
    "Mail",
    "MailKind",
    "MailStatus",
    "Series",
    "SeriesDraft",
    "SeriesStatus",
    "Subscriber",
    "SubscriberStatus",
    "Subscription",
    "SubscriptionStatus",
    "WorkerHeartbeat",
    "utcnow",
]


class SeriesStatus:
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"
    DELETED = "deleted"  # nothing more goes out; the sent parts stay in the archive


class FirstPart:
    """Serial mode: when a new reader's part 1 goes out."""

    NOW = "now"  # at once on confirmation: a welcome
    NEXT_SLOT = "next-slot"  # at the series' next local send time in the reader's zone

    ALL = (NOW, NEXT_SLOT)


class LateJoiners:
    """Broadcast mode: what someone who subscribes after part 1 went out receives."""

    NEXT = "next"  # the next broadcast part only (the archive holds what they missed)
    CATCH_UP = "catch-up"  # part 1 at once, the back parts on the cadence, then the broadcast

    ALL = (NEXT, CATCH_UP)


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(16))  # broadcast | serial
    cadence: Mapped[str] = mapped_column(String(100))  # weekly | daily | every 3d | cron
    timezone: Mapped[str] = mapped_column(String(64))
    # UTC. Its local time of day in `timezone` is the series' send slot: serial readers get
    # their parts at that wall-clock time (in their own zone when they set one).
    start_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default=SeriesStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    first_part: Mapped[str] = mapped_column(
        String(16), default=FirstPart.NOW, server_default=FirstPart.NOW
    )
    late_joiners: Mapped[str] = mapped_column(
        String(16), default=LateJoiners.NEXT, server_default=LateJoiners.NEXT
    )
    # The series' own sender; each None falls back to the global setting.
    from_name: Mapped[str | None] = mapped_column(String(200))
    from_address: Mapped[str | None] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    footer_text: Mapped[str | None] = mapped_column(Text)
    postal_address: Mapped[str | None] = mapped_column(String(500))
    # Bumped by every edit of the snapshot or the sender: a worker's rendered copy of an
    # issue is keyed on it, so an edit is never sent stale.
    revision: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    essays: Mapped[list[Essay]] = relationship(
        back_populates="series", order_by="Essay.number", cascade="all, delete-orphan"
    )
    issues: Mapped[list[Issue]] = relationship(
        back_populates="series", order_by="Issue.number", cascade="all, delete-orphan"
    )


class Essay(Base):
    """A snapshot of one essay taken when the series was scheduled.

    Editing files in content/ afterwards does not change what subscribers receive.
    """

    __tablename__ = "essay"
    __table_args__ = (UniqueConstraint("series_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    slug: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300))
    preheader: Mapped[str | None] = mapped_column(String(300))
    blocks: Mapped[list[Any]]  # [{"type": "paragraph"|"pull_quote", "text": "..."}]

    series: Mapped[Series] = relationship(back_populates="essays")


class IssueStatus:
    SCHEDULED = "scheduled"  # broadcast: waiting for scheduled_at
    SENDING = "sending"  # deliveries created, not all final
    SENT = "sent"  # every delivery final
    SERIAL = "serial"  # serial mode: sent per subscriber, no single date


class Issue(Base):
    """Part N of a series. Deliveries hang off it in both modes."""

    __tablename__ = "issue"
    __table_args__ = (
        UniqueConstraint("series_id", "number"),
        Index("ix_issue_status_scheduled_at", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    essay_id: Mapped[int] = mapped_column(ForeignKey("essay.id", ondelete="CASCADE"))
    number: Mapped[int]
    scheduled_at: Mapped[dt.datetime | None]  # UTC; None in serial mode
    status: Mapped[str] = mapped_column(String(16), default=IssueStatus.SCHEDULED)
    fanned_out_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    # The automatic brake (`delivery.brakes`): set when the issue's hard-bounce or complaint
    # rate crossed its threshold; its open deliveries are held until an operator resumes it.
    braked_at: Mapped[dt.datetime | None]
    brake_reason: Mapped[str | None] = mapped_column(String(300))
    # Counts at the last manual resume ({"attempted", "hard", "complaints"}): the brake
    # then judges only what happened since, so a resume is not undone by the old figures.
    brake_baseline: Mapped[dict[str, Any] | None]

    series: Mapped[Series] = relationship(back_populates="issues")
    essay: Mapped[Essay] = relationship()


class SubscriberStatus:
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Subscriber(Base):
    __tablename__ = "subscriber"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))  # normalised; None once erased
    # Lower-cased normalised address: the case-insensitive uniqueness key.
    email_key: Mapped[str | None] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=SubscriberStatus.PENDING)
    source: Mapped[str] = mapped_column(String(32), default="web")  # web | cli | import | api
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]
    # When the last confirmation mail was asked for (its row in `mail` says whether and when
    # it went out).
    confirmation_sent_at: Mapped[dt.datetime | None]
    erased_at: Mapped[dt.datetime | None]
    # IANA zone the reader chose (signup form, manage page); None means the series' zone.
    timezone: Mapped[str | None] = mapped_column(String(64))

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class SubscriptionStatus:
    PENDING = "pending"  # waiting for the double opt-in confirmation for this series
    ACTIVE = "active"
    PAUSED = "paused"  # until `paused_until`, or until resumed when that is None
    UNSUBSCRIBED = "unsubscribed"
    STOPPED = "stopped"  # the address bounced or complained: suppressed, never mailed again
    FINISHED = "finished"  # serial mode: every part delivered

    LIVE = (PENDING, ACTIVE, PAUSED)  # still wants mail (or may, once confirmed)


class Subscription(Base):
    """Subscriber × series, with serial-mode progress."""

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "series_id"),
        Index("ix_subscription_series_status", "series_id", "status"),
        Index("ix_subscription_due", "status", "next_due_at"),
        Index("ix_subscription_paused_until", "status", "paused_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_part: Mapped[int] = mapped_column(default=1)
    # When next_part is due (UTC): serial mode, and a broadcast late joiner catching up
    # (None again once level with the broadcast). Set when the subscriber confirms.
    next_due_at: Mapped[dt.datetime | None]
    # Starts at 1; "start again from part 1" begins round 2, and so on. Deliveries carry
    # the round they belong to, so a reread is new rows and the old ones stay in the ledger.
    round: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    # A pause for a while ends by itself at this time (the tick resumes it); None while
    # active, or paused until the reader resumes.
    paused_until: Mapped[dt.datetime | None]

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    series: Mapped[Series] = relationship()


class DeliveryStatus:
    PENDING = "pending"  # created; waiting to be claimed and enqueued (or to retry)
    QUEUED = "queued"  # claimed by a tick and handed to the broker
    SENDING = "sending"  # claimed by a worker; the SMTP transaction may be in flight
    SENT = "sent"  # 250 received
    FAILED = "failed"  # permanent failure or attempts exhausted
    BOUNCED = "bounced"  # 5.1.x: mailbox unknown
    SKIPPED = "skipped"  # subscriber no longer active at send time

    FINAL = (SENT, FAILED, BOUNCED, SKIPPED)
    OPEN = (PENDING, QUEUED, SENDING)  # not final yet: an issue with any of these is sending


class Delivery(Base):
    """One row per issue × subscriber × round: the exactly-once ledger.

    `round` is the subscription's round when the row was made: a reader who starts a serial
    again gets each part once more, as new rows; within one round a part goes out once.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id", "round"),
        Index("ix_delivery_status_due", "status", "next_attempt_at"),
        Index("ix_delivery_status_lease", "status", "lease_until"),
        Index("ix_delivery_issue_status", "issue_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id", ondelete="CASCADE"))
    # SET NULL so that erasing a person keeps anonymised delivery counts.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    round: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    # The worker process holding the `sending` claim (see WorkerHeartbeat); None otherwise.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime | None]

    issue: Mapped[Issue] = relationship()
    subscriber: Mapped[Subscriber | None] = relationship()


class MailKind:
    """What a one-off mail row is; each kind has one builder on the worker side."""

    CONFIRMATION = "confirmation"  # the double opt-in mail (subscribers feature)

    ALL = (CONFIRMATION,)


class MailStatus:
    PENDING = "pending"  # waiting to be claimed (new, or a retry after `next_attempt_at`)
    QUEUED = "queued"  # claimed by a tick and handed to the broker
    SENDING = "sending"  # claimed by a worker; the SMTP transaction may be in flight
    SENT = "sent"  # 250 received
    FAILED = "failed"  # refused for good (a 5.1.x also suppresses the address), or out of attempts
    SKIPPED = "skipped"  # nothing to send any more (the person left or was erased)

    OPEN = (PENDING, QUEUED, SENDING)
    FINAL = (SENT, FAILED, SKIPPED)
    ALL = (*OPEN, *FINAL)


class Mail(Base):
    """The outbox of one-off mail: one row per message, written before any broker sees it.

    Signup inserts a confirmation row in its own transaction; the broker only ever carries
    a wake-up with row ids, so a broker outage delays a confirmation but cannot lose it. The
    columns and statuses mirror `Delivery`, and so do the claims (see `delivery.outbox`).
    """

    __tablename__ = "mail"
    __table_args__ = (
        Index("ix_mail_status_due", "status", "next_attempt_at"),
        Index("ix_mail_status_lease", "status", "lease_until"),
        Index("ix_mail_subscriber", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # SET NULL, like deliveries: erasing a person keeps anonymised counts.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class Event(Base):
    """Append-only audit trail: signups, confirmations, unsubscribes, bounces, erasures."""

    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_subscriber", "subscriber_id"),
        # The audit trail is one kind among millions of signup events: read it by kind.
        Index("ix_event_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
