"""The worker side of the `mail` outbox: claim one-off rows, build, send, record each outcome.

Each kind of one-off mail has a builder beside the feature that owns what it says (the
confirmation: `subscribers.confirmation.compose`); this module owns how it gets out, exactly
as the bulk path does for issues: claim (`outbox.claim`), render outside the claim's
transaction, one SMTP connection for the message's rows, and the outcome committed right
after each reply: 250 sent; 4xx or connection trouble back to pending with a jittered
backoff (failed after NEWSLETTER_MAX_ATTEMPTS); 5.1.x failed and the address suppressed
through `subscribers.suppression.mark_bounced`; any other 5xx failed. Logs name row and
subscriber ids, never addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.db.models import MailKind, MailStatus
from newsletter.core.db.session import transaction
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import outbox
from newsletter.delivery.identity import Identity
from newsletter.delivery.outbox import ClaimedMail
from newsletter.mail.errors import PermanentSendError, TransientSendError
from newsletter.mail.oneoff import envelope_sender
from newsletter.mail.transport import Transport, open_transport
from newsletter.subscribers import confirmation
from newsletter.subscribers.confirmation import Composed, NotSendable
from newsletter.subscribers.suppression import mark_bounced

log = logging.getLogger(__name__)

Builder = Callable[[Session, ClaimedMail, Settings], Composed]

# After this many transient failures in a row the server is taken to be unavailable, and
# the rest of the message's rows are handed back untried (as `send.GIVE_UP_AFTER` does).
GIVE_UP_AFTER = 3


def _confirmation(session: Session, mail: ClaimedMail, settings: Settings) -> Composed:
    return confirmation.compose(
        session, mail.subscriber_id, mail.series_id, mail.message_id, settings
    )


BUILDERS: dict[str, Builder] = {MailKind.CONFIRMATION: _confirmation}


@dataclass(frozen=True)
class NoMessage:
    """Why a claimed row will not be sent: its final status and the reason to keep."""

    status: str
    reason: str


def send_mail(mail_ids: list[int]) -> Counter[str]:
    """Send the outbox rows one task message names; a count per outcome.

    Rows no longer claimable (sent, already taken by another message, waiting out a
    backoff, or held by the global pause) are left alone, so any message may be repeated.
    """
    settings = get_settings()
    now = models.utcnow()
    lease_until = now + dt.timedelta(seconds=settings.lease_seconds)
    with transaction() as session:
        claimed, handed_back = outbox.claim(
            session, mail_ids, now, lease_until, envelope_sender(settings)[1]
        )
    outcome: Counter[str] = Counter(released=handed_back)
    if claimed:
        # Rendering happens after the claim has committed, never inside it: on SQLite that
        # transaction holds the write lock.
        with transaction() as session:
            built = [(mail, _build(session, mail, settings)) for mail in claimed]
        _send_all(built, settings, outcome)
    outcome = +outcome
    log.info("one-off mail %s: %s", list(mail_ids), dict(outcome))
    return outcome


def _build(session: Session, mail: ClaimedMail, settings: Settings) -> Composed | NoMessage:
    """The message, or why there is none."""
    builder = BUILDERS.get(mail.kind)
    if builder is None:
        return NoMessage(MailStatus.FAILED, f"unsendable: no builder for kind {mail.kind!r}")
    try:
        return builder(session, mail, settings)
    except NotSendable as exc:
        return NoMessage(MailStatus.SKIPPED, f"skipped: {exc}")
    except ValueError as exc:  # an address or header the message builder refuses
        return NoMessage(MailStatus.FAILED, f"unsendable: {exc}")


def _send_all(
    built: list[tuple[ClaimedMail, Composed | NoMessage]],
    settings: Settings,
    outcome: Counter[str],
) -> None:
    """One transport (one SMTP connection) for every row of this message."""
    pending = list(built)
    streak = 0
    with open_transport(settings) as transport:
        while pending:
            mail, message = pending.pop(0)
            status = _send_one(transport, mail, message, settings)
            outcome[status] += 1
            streak = streak + 1 if status == "retry" else 0
            if streak >= GIVE_UP_AFTER and pending:
                with transaction() as session:
                    outcome["released"] += outbox.release(
                        session,
                        [m.id for m, _ in pending],
                        "server unavailable",
                        models.utcnow(),
                        settings.retry_base_seconds,
                    )
                return


def _send_one(
    transport: Transport, mail: ClaimedMail, message: Composed | NoMessage, settings: Settings
) -> str:
    if isinstance(message, NoMessage):
        _finish(mail, message.status, message.reason)
        return message.status
    try:
        sender = Identity.from_settings(settings).mail_envelope_sender(
            mail.id, message.envelope_from
        )
        transport.send(sender, message.to_addr, message.data)
    except TransientSendError as exc:
        with transaction() as session:
            status = outbox.retry_or_fail(
                session,
                mail,
                f"transient: {exc}",
                models.utcnow(),
                settings.max_attempts,
                settings.retry_base_seconds,
            )
        log.info("%s mail %s: %s (%s)", mail.kind, mail.id, exc.code, status)
        return "retry" if status == MailStatus.PENDING else MailStatus.FAILED
    except PermanentSendError as exc:
        if exc.is_mailbox_unknown and mail.subscriber_id is not None:
            # The row and the suppression change together.
            with transaction() as session:
                outbox.finish(session, mail.id, MailStatus.FAILED, f"bounced: {exc}")
                mark_bounced(session, mail.subscriber_id, f"{mail.kind} bounced: {exc}"[:500])
            log.info(
                "%s mail %s bounced; subscriber %s suppressed",
                mail.kind,
                mail.id,
                mail.subscriber_id,
            )
            return "bounced"
        _finish(mail, MailStatus.FAILED, f"permanent: {exc}")
        return MailStatus.FAILED
    except ValueError as exc:  # an address the SMTP layer refuses to put in an envelope
        _finish(mail, MailStatus.FAILED, f"unsendable: {exc}")
        return MailStatus.FAILED
    with transaction() as session:
        if not outbox.sent(session, mail.id, models.utcnow()):
            log.warning("%s mail %s was sent but was already final", mail.kind, mail.id)
    return MailStatus.SENT


def _finish(mail: ClaimedMail, status: str, error: str) -> None:
    with transaction() as session:
        outbox.finish(session, mail.id, status, error)
    log.info("%s mail %s %s", mail.kind, mail.id, status)
