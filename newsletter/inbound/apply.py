"""The effects of inbound mail, through the subscribers and delivery services; once each.

Nothing in a message body is trusted. A delivery is named either by a bounce token that
verifies (`core.tokens.read_verp`), or, when a provider rewrote the return path, by a
returned Message-ID that verifies (`make_message_id` is keyed, so ours cannot be forged)
*and* a Final-/Original-Recipient that is the address that delivery went to. A forged or
unsigned token, or a Message-ID that is not one of ours, does nothing.

Every message acted on leaves an `inbound_mail` row whose unique key is a hash of its
Message-ID (or of the whole message), inserted first in the same transaction: the same
report fed twice, over SMTP or through the pipe, has one effect. A concurrent duplicate
loses at the unique index and its transaction rolls back whole (`receive` reports it as a
duplicate). Each effect is also an event (ids and status codes only).
"""

from __future__ import annotations

import email
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import Message

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    InboundMail,
    InboundOutcome,
    Issue,
    Mail,
    MailStatus,
    Subscriber,
    Subscription,
)
from newsletter.core.errors import InvalidToken, UserError
from newsletter.core.events import record
from newsletter.core.settings import Settings
from newsletter.core.tokens import read_verp
from newsletter.delivery import brakes
from newsletter.delivery.identity import MAIL_MARK
from newsletter.inbound.parse import (
    Complaint,
    Dsn,
    Inbound,
    Other,
    Unsubscribe,
    classify,
    status_class,
)
from newsletter.mail.message import make_message_id
from newsletter.subscribers.service import unsubscribe_subscriber
from newsletter.subscribers.suppression import mark_bounced, mark_complained

log = logging.getLogger(__name__)

DUPLICATE = "duplicate"
DROPPED = "dropped"
_OUR_MESSAGE_ID = re.compile(r"^<d(\d{1,19})\.([0-9a-f]{16})@([^<>@\s]+)>$")


class Unreadable(ValueError):
    """Bytes that are not a mail message at all (no header): EX_DATAERR for a pipe."""


@dataclass(frozen=True)
class Target:
    """The delivery a report is about, as the ledger has it; or a one-off `mail` row (a
    confirmation), which has no issue."""

    delivery_id: int | None
    issue_id: int | None
    series_id: int | None
    subscriber_id: int | None
    status: str
    email: str | None
    mail_id: int | None = None


def parse_bytes(raw: bytes) -> Message:
    """The message, or `Unreadable` when the bytes carry no header at all."""
    if not raw.strip():
        raise Unreadable("empty message")
    msg = email.message_from_bytes(raw)
    if not msg.keys():
        raise Unreadable("no mail headers")
    return msg


def dedupe_key(msg: Message, raw: bytes) -> str:
    """sha256 of the Message-ID (else of the whole message): the same report, one effect."""
    message_id = " ".join(str(msg.get("Message-ID") or "").split())
    basis = f"mid:{message_id}".encode() if message_id else b"raw:" + raw
    return hashlib.sha256(basis).hexdigest()


def receive(
    session: Session, raw: bytes, envelope_recipients: Sequence[str], settings: Settings
) -> str:
    """Read one inbound message and act on it; returns the outcome (for the log and tests).

    `Unreadable` for bytes that are no message; database errors propagate (the SMTP server
    answers 451, the pipe exits EX_TEMPFAIL, and the sender tries again later).
    """
    msg = parse_bytes(raw)
    try:
        item = classify(msg, envelope_recipients)
    except (ValueError, LookupError, TypeError, AttributeError) as exc:
        item = Other(f"unreadable report ({type(exc).__name__})")
    return apply(session, item, dedupe_key(msg, raw), settings)


def apply(session: Session, item: Inbound, key: str, settings: Settings) -> str:
    """The effect of one classified message, unless a message with `key` was seen before."""
    if isinstance(item, Other):
        log.info("inbound message dropped: %s", item.reason)
        return DROPPED
    if session.scalar(select(InboundMail.id).where(InboundMail.key == key)) is not None:
        log.info("inbound message already seen; nothing to do")
        return DUPLICATE
    if isinstance(item, Dsn):
        row = InboundMail(key=key, kind="dsn", outcome=InboundOutcome.IGNORED)
        session.add(row)
        session.flush()  # the unique key first: a concurrent duplicate stops here
        return _dsn(session, item, row, settings)
    if isinstance(item, Complaint):
        row = InboundMail(key=key, kind="complaint", outcome=InboundOutcome.IGNORED)
        session.add(row)
        session.flush()
        return _complaint(session, item, row, settings)
    row = InboundMail(key=key, kind="unsubscribe", outcome=InboundOutcome.IGNORED)
    session.add(row)
    session.flush()
    return _unsubscribe(session, item, row)


# -- finding the delivery ----------------------------------------------------------------


def _target(session: Session, delivery_id: int) -> Target | None:
    row = session.execute(
        select(
            Delivery.id,
            Delivery.issue_id,
            Issue.series_id,
            Delivery.subscriber_id,
            Delivery.status,
            Subscriber.email,
        )
        .join(Issue, Issue.id == Delivery.issue_id)
        .outerjoin(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id == delivery_id)
    ).first()
    return Target(*row) if row is not None else None


def _mail_target(session: Session, mail_id: int) -> Target | None:
    row = session.execute(
        select(Mail.series_id, Mail.subscriber_id, Mail.status, Subscriber.email)
        .outerjoin(Subscriber, Subscriber.id == Mail.subscriber_id)
        .where(Mail.id == mail_id)
    ).first()
    if row is None:
        return None
    series_id, subscriber_id, status, address = row
    return Target(None, None, series_id, subscriber_id, status, address, mail_id)


def by_token(session: Session, token: str | None) -> Target | None:
    """The delivery (or, for `m.<token>`, the one-off mail row) a bounce token names, if
    the token is genuine."""
    if not token:
        return None
    one_off = token.startswith(MAIL_MARK)
    try:
        ids = read_verp(token.removeprefix(MAIL_MARK), "mail" if one_off else "bounce")
    except InvalidToken:
        log.info("inbound: a bounce token that does not verify; ignored")
        return None
    if len(ids) != 1:
        return None
    return _mail_target(session, ids[0]) if one_off else _target(session, ids[0])


def by_message_id(session: Session, message_id: str | None, secret: str) -> Target | None:
    """The delivery behind one of our Message-IDs (`<d{id}.{mac}@domain>`), if genuine."""
    match = _OUR_MESSAGE_ID.match((message_id or "").strip())
    if match is None:
        return None
    delivery_id, domain = int(match.group(1)), match.group(3)
    if make_message_id(delivery_id, domain, secret=secret) != match.group(0):
        return None
    target = _target(session, delivery_id)
    stored = None
    if target is not None:
        stored = session.scalar(select(Delivery.message_id).where(Delivery.id == delivery_id))
    return target if stored == match.group(0) else None


# -- DSNs --------------------------------------------------------------------------------


def _dsn(session: Session, dsn: Dsn, row: InboundMail, settings: Settings) -> str:
    target = by_token(session, dsn.token)
    recipient = dsn.recipients[0]
    if target is None and dsn.token is None:
        # No VERP token (the return path was rewritten): our Message-ID and the address.
        target = by_message_id(session, dsn.original_message_id, settings.secret())
        if target is not None:
            named = {r.final_recipient for r in dsn.recipients}
            named |= {r.original_recipient for r in dsn.recipients}
            if not target.email or target.email.lower() not in named:
                target = None
    if target is None or target.subscriber_id is None:
        log.info("inbound DSN not tied to a delivery of ours; ignored")
        return InboundOutcome.IGNORED
    if target.email:
        address = target.email.lower()
        mine = [r for r in dsn.recipients if address in (r.final_recipient, r.original_recipient)]
        recipient = mine[0] if mine else recipient
    row.delivery_id, row.issue_id = target.delivery_id, target.issue_id
    row.subscriber_id = target.subscriber_id
    klass = status_class(recipient.status)
    if recipient.action == "failed" and klass == "5":
        row.outcome = _hard(session, target, recipient.status, settings)
    elif recipient.action in ("failed", "delayed") and klass == "4":
        row.outcome = _soft(session, target, settings)
    elif recipient.action in ("delivered", "relayed", "expanded") and klass == "2":
        row.outcome = InboundOutcome.DELIVERED
    _event(session, target, "dsn", row.outcome, status=recipient.status or None)
    return row.outcome


def _hard(session: Session, target: Target, status: str, settings: Settings) -> str:
    """5.x.x after the 250: the delivery bounced (a confirmation: its row failed, as at
    SMTP time); the address is never mailed again."""
    if target.mail_id is not None:
        session.execute(
            update(Mail)
            .where(Mail.id == target.mail_id, Mail.status == MailStatus.SENT)
            .values(status=MailStatus.FAILED, last_error=f"bounced (DSN {status})")
        )
    else:
        session.execute(
            update(Delivery)
            .where(Delivery.id == target.delivery_id, Delivery.status == DeliveryStatus.SENT)
            .values(status=DeliveryStatus.BOUNCED, last_error=f"bounced (DSN {status})")
        )
    assert target.subscriber_id is not None
    mark_bounced(session, target.subscriber_id, f"DSN {status}")
    if target.issue_id is not None:
        brakes.check(session, [target.issue_id], settings)
    return InboundOutcome.HARD


def _soft(session: Session, target: Target, settings: Settings) -> str:
    """4.x.x: counted; NEWSLETTER_SOFT_BOUNCE_LIMIT deliveries in a row suppress."""
    assert target.subscriber_id is not None
    if target.delivery_id is None:
        return InboundOutcome.SOFT  # a confirmation: the run counts issues only
    session.flush()
    streak = soft_streak(session, target.subscriber_id, also=target.delivery_id)
    if streak >= max(1, settings.soft_bounce_limit):
        mark_bounced(session, target.subscriber_id, f"{streak} soft bounces in a row")
    return InboundOutcome.SOFT


def soft_streak(session: Session, subscriber_id: int, also: int | None = None) -> int:
    """How many of the subscriber's newest sent deliveries soft-bounced, newest first.

    A delivery counts when a 4.x.x DSN named it and no success DSN did; the run ends at the
    first sent delivery that did not soft-bounce (a later success resets the count).
    Deliveries are found through the (issue, subscriber) unique index, per issue of the
    subscriber's series, never by scanning the ledger. `also` is a delivery to count as
    soft even before its row is flushed.
    """
    marks = session.execute(
        select(InboundMail.delivery_id, InboundMail.outcome).where(
            InboundMail.subscriber_id == subscriber_id, InboundMail.kind == "dsn"
        )
    ).all()
    soft = {d for d, o in marks if o == InboundOutcome.SOFT} | ({also} if also else set())
    soft -= {d for d, o in marks if o == InboundOutcome.DELIVERED}
    issues = list(
        session.scalars(
            select(Issue.id)
            .join(Subscription, Subscription.series_id == Issue.series_id)
            .where(Subscription.subscriber_id == subscriber_id)
        )
    )
    if not issues:
        return 0
    sent = session.scalars(
        select(Delivery.id)
        .where(
            Delivery.issue_id.in_(issues),
            Delivery.subscriber_id == subscriber_id,
            Delivery.status == DeliveryStatus.SENT,
        )
        .order_by(Delivery.id.desc())
    )
    streak = 0
    for delivery_id in sent:
        if delivery_id not in soft:
            break
        streak += 1
    return streak


# -- complaints and unsubscribes ---------------------------------------------------------


def _complaint(session: Session, report: Complaint, row: InboundMail, settings: Settings) -> str:
    """An abuse report: out of every series, suppressed; it counts toward the issue's brake."""
    target = None
    for token in report.tokens:
        target = by_token(session, token)
        if target is not None:
            break
    if target is None and not report.tokens:
        target = by_message_id(session, report.original_message_id, settings.secret())
    if target is None or target.subscriber_id is None:
        log.info("inbound complaint not tied to a delivery of ours; ignored")
        return InboundOutcome.IGNORED
    row.delivery_id, row.issue_id = target.delivery_id, target.issue_id
    row.subscriber_id = target.subscriber_id
    earlier = None
    if target.delivery_id is not None:
        earlier = session.scalar(
            select(InboundMail.id).where(
                InboundMail.delivery_id == target.delivery_id,
                InboundMail.outcome == InboundOutcome.COMPLAINT,
                InboundMail.id != row.id,
            )
        )
    if earlier is None:  # a second report about the same message counts once
        row.outcome = InboundOutcome.COMPLAINT
        mark_complained(session, target.subscriber_id, "ARF abuse report")
        session.flush()
        if target.issue_id is not None:
            brakes.check(session, [target.issue_id], settings)
    _event(session, target, "complaint", row.outcome)
    return row.outcome


def _unsubscribe(session: Session, item: Unsubscribe, row: InboundMail) -> str:
    """Mail to a signed `unsubscribe+<token>@` address: that subscription ends."""
    try:
        subscriber_id, series_id = read_verp(item.token, "unsubscribe")
    except (InvalidToken, ValueError):
        log.info("inbound unsubscribe with a token that does not verify; ignored")
        return InboundOutcome.IGNORED
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        return InboundOutcome.IGNORED
    try:
        unsubscribe_subscriber(session, subscriber_id, series_id, via="mailto")
    except UserError:
        return InboundOutcome.IGNORED
    row.subscriber_id = subscriber_id
    row.outcome = InboundOutcome.UNSUBSCRIBE
    record(session, "inbound", subscriber_id, series_id, type="unsubscribe", outcome=row.outcome)
    return row.outcome


def _event(session: Session, target: Target, kind: str, outcome: str, **data: object) -> None:
    record(
        session,
        "inbound",
        target.subscriber_id,
        target.series_id,
        type=kind,
        outcome=outcome,
        delivery_id=target.delivery_id,
        mail_id=target.mail_id,
        **{k: v for k, v in data.items() if v is not None},
    )
