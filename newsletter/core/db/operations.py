"""Tables that run the service rather than hold its content and audience: what inbound
mail did, which workers are alive, the operator's switches. `models` re-exports them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.core.db.base import Base, utcnow
from newsletter.core.db.dialect import BigId


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
