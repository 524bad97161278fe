"""The automatic brake: an issue whose hard-bounce or complaint rate is too high pauses itself.

A burst of hard bounces means a stale or bought list; complaints mean readers did not ask
for the mail. Either burns the sender's reputation with every further message, so once an
issue has made at least NEWSLETTER_BRAKE_MIN_SENDS attempts and its rate of either exceeds
NEWSLETTER_BRAKE_BOUNCE_RATE / NEWSLETTER_BRAKE_COMPLAINT_RATE, it stops: `braked_at` and
the reason go on the issue, the claims (`claim._paused_issues`) take none of its rows, and
a worker hands back any it already holds. Nothing fails; the rows wait as `pending` until
an operator has looked and resumes the issue (`release`: CLI, console).

Counted as hard bounces: rows `bounced` (a 5.1.x at SMTP time, or a 5.x.x DSN read back by
`newsletter inbound`) and rows `failed` by any other 5xx at SMTP time (a policy or
blocklist refusal is exactly what the brake is for). Complaints are the ARF reports
`newsletter inbound` tied to the issue. After a resume only what happened since counts (the
counts at resume are kept as a baseline), so the old figures do not brake it again at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    InboundMail,
    InboundOutcome,
    Issue,
    Series,
    utcnow,
)
from newsletter.core.events import record
from newsletter.core.settings import Settings

log = logging.getLogger(__name__)

# How the send path words a 5xx that is not a dead mailbox (`send._send_one`).
PERMANENT = "permanent: "
_ANSWERED = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class Figures:
    """One issue's counts as the brake judges them."""

    attempted: int  # messages that got an answer: sent, bounced, failed by a 5xx
    hard: int
    complaints: int

    def minus(self, baseline: dict[str, int] | None) -> Figures:
        if not baseline:
            return self
        return Figures(
            self.attempted - int(baseline.get("attempted", 0)),
            self.hard - int(baseline.get("hard", 0)),
            self.complaints - int(baseline.get("complaints", 0)),
        )


@dataclass(frozen=True)
class Braked:
    """An issue held by its brake, for the dashboard, `newsletter status` and /metrics."""

    issue_id: int
    series_slug: str
    number: int
    reason: str
    braked_at: datetime


def figures(session: Session, issue_id: int) -> Figures:
    """Attempts, hard bounces and complaints of one issue (index range counts)."""
    hard_failed = and_(
        Delivery.status == DeliveryStatus.FAILED, Delivery.last_error.like(f"{PERMANENT}%")
    )
    is_hard = or_(Delivery.status == DeliveryStatus.BOUNCED, hard_failed)
    row = session.execute(
        select(
            func.count().filter(Delivery.status == DeliveryStatus.SENT),
            func.count().filter(is_hard),
        ).where(
            Delivery.issue_id == issue_id,
            Delivery.status.in_(_ANSWERED),
        )
    ).one()
    complaints = session.scalar(
        select(func.count()).where(
            InboundMail.issue_id == issue_id, InboundMail.outcome == InboundOutcome.COMPLAINT
        )
    )
    sent, hard = int(row[0] or 0), int(row[1] or 0)
    return Figures(sent + hard, hard, int(complaints or 0))


def verdict(numbers: Figures, settings: Settings) -> str | None:
    """Why these figures must stop the issue, or None. Pure, for the tests."""
    if numbers.attempted < max(1, settings.brake_min_sends):
        return None
    bounce_rate = numbers.hard / numbers.attempted
    complaint_rate = numbers.complaints / numbers.attempted
    if bounce_rate > settings.brake_bounce_rate:
        return (
            f"hard-bounce rate {bounce_rate:.1%} ({numbers.hard} of {numbers.attempted})"
            f" over {settings.brake_bounce_rate:.1%}"
        )
    if complaint_rate > settings.brake_complaint_rate:
        return (
            f"complaint rate {complaint_rate:.2%} ({numbers.complaints} of {numbers.attempted})"
            f" over {settings.brake_complaint_rate:.2%}"
        )
    return None


def check(session: Session, issue_ids: Iterable[int], settings: Settings) -> list[int]:
    """Brake every issue of `issue_ids` whose figures call for it; returns those braked now.

    Called after a batch that had hard outcomes and after each inbound bounce or complaint.
    The UPDATE is conditional on the issue not being braked yet, so of two workers judging
    the same issue at once one records it.
    """
    braked = []
    for issue_id in sorted(set(issue_ids)):
        baseline = session.execute(
            select(Issue.brake_baseline).where(Issue.id == issue_id, Issue.braked_at.is_(None))
        ).first()
        if baseline is None:
            continue  # gone, or already braked
        reason = verdict(figures(session, issue_id).minus(baseline[0]), settings)
        if reason is None:
            continue
        done = session.execute(
            update(Issue)
            .where(Issue.id == issue_id, Issue.braked_at.is_(None))
            .values(braked_at=utcnow(), brake_reason=reason[:300])
        ).rowcount
        if done:
            series_id = session.scalar(select(Issue.series_id).where(Issue.id == issue_id))
            record(session, "issue_braked", None, series_id, issue_id=issue_id, reason=reason)
            log.warning("issue %s braked: %s", issue_id, reason)
            braked.append(issue_id)
    return braked


def release(session: Session, issue_id: int) -> bool:
    """An operator's resume: the issue sends again, judged from here on. False when it was
    not braked."""
    issue = session.get(Issue, issue_id)
    if issue is None or issue.braked_at is None:
        return False
    now = figures(session, issue_id)
    issue.braked_at = None
    issue.brake_reason = None
    issue.brake_baseline = {
        "attempted": now.attempted,
        "hard": now.hard,
        "complaints": now.complaints,
    }
    record(session, "issue_resumed", None, issue.series_id, issue_id=issue_id)
    log.info("issue %s resumed by an operator", issue_id)
    return True


def braked_issues(session: Session) -> list[Braked]:
    """Every issue its brake holds, newest first."""
    rows = session.execute(
        select(Issue.id, Series.slug, Issue.number, Issue.brake_reason, Issue.braked_at)
        .join(Series, Series.id == Issue.series_id)
        .where(Issue.braked_at.is_not(None))
        .order_by(Issue.braked_at.desc(), Issue.id.desc())
    ).all()
    return [Braked(i, slug, n, reason or "", at) for i, slug, n, reason, at in rows]
