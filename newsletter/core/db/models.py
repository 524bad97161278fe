"""SQLAlchemy models: the state a newsletter must never lose.

Times are stored as naive UTC (`utcnow()`), because SQLite has no time zone type and mixing
aware and naive datetimes across the two backends is a classic source of bugs. Local time
only appears when a schedule is computed or displayed (see `newsletter.scheduling`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from newsletter.core.db.dialect import BigId

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Naive UTC now; the one clock every module uses (tests may monkeypatch it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: DateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class SeriesStatus:
    ACTIVE = "active"
    PAUSED = "paused"
    FINISHED = "finished"


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
    start_at: Mapped[dt.datetime]  # UTC
    status: Mapped[str] = mapped_column(String(16), default=SeriesStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

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

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class SubscriptionStatus:
    PENDING = "pending"  # waiting for the double opt-in confirmation for this series
    ACTIVE = "active"
    PAUSED = "paused"
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
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=SubscriptionStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    next_part: Mapped[int] = mapped_column(default=1)
    # Serial mode: when next_part is due (UTC). Set when the subscriber confirms.
    next_due_at: Mapped[dt.datetime | None]

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
    """One row per issue × subscriber: the exactly-once ledger."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id"),
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


class InboundOutcome:
    """What one message read by `newsletter inbound` did (the `inbound_mail` row)."""

    HARD = "hard"  # a DSN with a 5.x.x status: the delivery bounced, the address suppressed
    SOFT = "soft"  # a DSN with a 4.x.x status: counted toward NEWSLETTER_SOFT_BOUNCE_LIMIT
    DELIVERED = "delivered"  # a DSN saying it arrived: breaks a run of soft bounces
    COMPLAINT = "complaint"  # an ARF abuse report: unsubscribed everywhere and suppressed
    UNSUBSCRIBE = "unsubscribe"  # mail to a signed unsubscribe+<token> address
    IGNORED = "ignored"  # a report we read but could not tie to one of our messages


class InboundMail(Base):
    """One row per inbound report acted on: the dedupe key that makes a repeat a no-op.

    `key` is a hash of the inbound Message-ID (or of the whole message when it has none),
    never the address itself. The delivery and issue ids let the brake count complaints
    per issue and the soft-bounce rule see a subscriber's run of soft bounces.
    """

    __tablename__ = "inbound_mail"
    __table_args__ = (
        Index("ix_inbound_mail_issue_outcome", "issue_id", "outcome"),
        Index("ix_inbound_mail_subscriber", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # dsn | complaint | unsubscribe
    outcome: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id", ondelete="SET NULL"))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issue.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WorkerHeartbeat(Base):
    """One row per live worker process, refreshed every few seconds while it runs.

    A row that stops being refreshed names a process that died (SIGKILL, OOM, a lost host):
    the tick hands its claimed deliveries back at once instead of waiting out their lease.
    """

    __tablename__ = "worker_heartbeat"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class AppState(Base):
    """Small operator-controlled switches that must survive restarts (e.g. global pause)."""

    __tablename__ = "app_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
