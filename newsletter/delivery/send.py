"""The batch send service: claim rows, send each over one SMTP connection, record outcomes.

Exactly once hinges on the claim (`claim.claim_batch`): `queued → sending` is one
conditional UPDATE, and only the rows it actually changed are sent, so a duplicated or
redelivered task message finds nothing to do. Each outcome is committed right after its
SMTP reply (see `ledger`), which bounds a kill to one possible duplicate per worker process.
A part that will not render, or a message that will not build, fails only its own rows
with the reason (see `poison`); failures of the database, Redis or SMTP still end the task.
Nothing here logs addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from newsletter.core.db.models import (
    DeliveryStatus,
    utcnow,
)
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import brakes, heartbeat
from newsletter.delivery.claim import Claim, claim_batch
from newsletter.delivery.compose import Recipient, compose, rendered_issue
from newsletter.delivery.identity import Identity
from newsletter.delivery.ledger import Ledger, LedgerLost
from newsletter.delivery.poison import is_infrastructure, reason
from newsletter.mail.errors import PermanentSendError, TransientSendError
from newsletter.mail.pacing import acquire_slot
from newsletter.mail.transport import Transport, open_transport

log = logging.getLogger(__name__)

# After this many transient failures in a row the server is treated as unavailable and the
# rest of the batch is handed back untried instead of failing one message at a time.
GIVE_UP_AFTER = 3
# Seconds a worker waits for the database to come back before giving up on a claim.
DB_PATIENCE = 30.0


def send_batch(delivery_ids: list[int]) -> Counter[str]:
    """Send the deliveries of one task message; returns a count per outcome."""
    settings = get_settings()
    identity = Identity.from_settings(settings)
    claim = _claim(delivery_ids, settings, identity)
    outcome: Counter[str] = Counter(skipped=claim.skipped, released=claim.released)
    if claim.recipients:
        # Rendering (the first time per process: an MJML compile) happens after the claim
        # has committed, never inside it: on SQLite that transaction holds the write lock.
        try:
            with transaction() as session:
                poisoned = _render_all(session, claim)
        except DBAPIError:
            # The database went away after the claim: nothing was sent, so the heartbeat
            # thread hands the whole batch back when it answers (not after the lease).
            assert claim.lease_until is not None
            if not heartbeat.abandon(claim.lease_until, None, utcnow()):
                raise
            log.warning("database lost before sending: %s left to settle", len(claim.recipients))
            return Counter(abandoned=len(claim.recipients))
        _send_all(claim, settings, identity, outcome, poisoned)
        if outcome["bounced"] or outcome["failed"]:
            _judge(claim, settings)
    outcome = +outcome  # drop zero counts
    log.info("batch of %s deliveries: %s", len(delivery_ids), dict(outcome))
    return outcome


def _judge(claim: Claim, settings: Settings) -> None:
    """After a batch with hard outcomes: brake its issues if their rates call for it. The
    rows this batch still holds went out or were settled; later batches find the issue
    held (once per batch, so a bounce costs no extra query on the per-message path)."""
    try:
        with transaction() as session:
            brakes.check(session, {to.issue_id for to in claim.recipients}, settings)
    except DBAPIError as exc:  # the next batch with a bounce judges again
        log.warning("brake check skipped: database unavailable (%s)", type(exc).__name__)


def _claim(delivery_ids: list[int], settings: Settings, identity: Identity) -> Claim:
    """The worker's claim, waiting up to DB_PATIENCE seconds for a database that is away.

    A PostgreSQL restart takes seconds; failing at once would have every worker process
    swallow one task message per attempt, leaving their rows `queued` with no message
    until the lost-message recovery. Waiting keeps the message in hand. An attempt whose
    commit may have landed is handed to the heartbeat thread under its lease token, so
    rows it left `sending` come back as soon as the database answers.
    """
    deadline = time.monotonic() + DB_PATIENCE
    while True:
        lease_until = utcnow() + dt.timedelta(seconds=settings.lease_seconds)
        try:
            with transaction() as session:
                return claim_batch(
                    session, delivery_ids, settings, identity, heartbeat.current(), lease_until
                )
        except OperationalError as exc:
            if time.monotonic() > deadline or not heartbeat.abandon(lease_until, None, utcnow()):
                raise
            log.warning("claim of %s rows waits for the database (%s)", len(delivery_ids), exc.code)
            time.sleep(1.0)


def _render_all(session: Session, claim: Claim) -> dict[int, str]:
    """Render each issue of the batch into `claim.issues`; returns issue id → reason for
    those that cannot be rendered (their rows fail, the others still go out)."""
    poisoned: dict[int, str] = {}
    for to in claim.recipients:
        if to.issue_id in claim.issues or to.issue_id in poisoned:
            continue
        try:
            claim.issues[to.issue_id] = rendered_issue(
                session, to.issue_id, to.series_id, to.number
            )
        except Exception as exc:
            if is_infrastructure(exc):
                raise
            poisoned[to.issue_id] = reason("render", exc)
            log.warning("issue %s cannot be rendered (%s)", to.issue_id, type(exc).__name__)
    return poisoned


def _send_all(
    claim: Claim,
    settings: Settings,
    identity: Identity,
    outcome: Counter,
    poisoned: dict[int, str],
) -> None:
    """One SMTP connection (and one DB connection) for the whole batch."""
    assert claim.lease_until is not None
    pending = list(claim.recipients)
    try:
        _send_pending(pending, claim, settings, identity, outcome, poisoned)
    except (DBAPIError, LedgerLost) as exc:
        # The database is gone: stop sending (nothing may go out that cannot be recorded)
        # and leave the rest to this process's heartbeat thread, which settles it when the
        # database answers again; a process without one re-raises and the lease recovers.
        sent = exc.sent if isinstance(exc, LedgerLost) else None
        at = exc.sent_at if isinstance(exc, LedgerLost) else utcnow()
        assert claim.lease_until is not None
        if not heartbeat.abandon(claim.lease_until, sent, at):
            raise
        log.warning("database lost mid-batch: %s deliveries left to settle", len(pending))
        outcome["abandoned"] += len(pending)


def _send_pending(
    pending: list[Recipient],
    claim: Claim,
    settings: Settings,
    identity: Identity,
    outcome: Counter[str],
    poisoned: dict[int, str],
) -> None:
    """Send until `pending` is empty; `pending` shrinks as rows are done (the caller reads
    what is left if the database fails)."""
    assert claim.lease_until is not None
    lease_until = claim.lease_until
    renew_every = settings.lease_seconds / 3
    renewed_at = time.monotonic()
    with get_engine().connect() as conn, Ledger(conn, settings) as ledger:
        pending[:] = _fail_poisoned(ledger, pending, poisoned, outcome)
        if not pending:
            return  # nothing to send: no SMTP connection
        streak = 0
        with open_transport(settings) as transport:
            while pending:
                if time.monotonic() - renewed_at > renew_every:
                    new_lease = utcnow() + dt.timedelta(seconds=settings.lease_seconds)
                    mine = ledger.renew([r.delivery_id for r in pending], lease_until, new_lease)
                    pending[:] = [r for r in pending if r.delivery_id in mine]
                    lease_until, renewed_at = new_lease, time.monotonic()
                    claim.lease_until = lease_until
                    if not pending:
                        break
                try:
                    acquire_slot(settings)
                except RedisError as exc:
                    # The shared rate limit lives in Redis; while it is away nothing may
                    # go out faster than allowed, so the batch is handed back untried
                    # instead of holding its rows `sending` until their lease runs out.
                    ledger.release([r.delivery_id for r in pending], "rate limiter unavailable")
                    outcome["released"] += len(pending)
                    log.warning("rate limiter unavailable (%s)", type(exc).__name__)
                    break
                to = pending.pop(0)
                status = _send_one(transport, ledger, identity, claim, to)
                outcome[status] += 1
                streak = streak + 1 if status == "retry" else 0
                if streak >= GIVE_UP_AFTER and pending:
                    ledger.release([r.delivery_id for r in pending], "server unavailable")
                    outcome["released"] += len(pending)
                    break


def _fail_poisoned(
    ledger: Ledger, recipients: list[Recipient], poisoned: dict[int, str], outcome: Counter
) -> list[Recipient]:
    """Record the rows of unrenderable parts as failed; returns the rest, still to send."""
    if not poisoned:
        return list(recipients)
    doomed: dict[int, list[int]] = defaultdict(list)
    for to in recipients:
        if to.issue_id in poisoned:
            doomed[to.issue_id].append(to.delivery_id)
    for issue_id, ids in doomed.items():
        ledger.failed_many(ids, poisoned[issue_id])
        outcome["failed"] += len(ids)
    return [to for to in recipients if to.issue_id not in poisoned]


def _send_one(
    transport: Transport, ledger: Ledger, identity: Identity, claim: Claim, to: Recipient
) -> str:
    attempts = claim.attempts[to.delivery_id]
    try:
        data = compose(identity, claim.issues[to.issue_id], to)
    except Exception as exc:  # e.g. an address or header the message builder refuses
        if is_infrastructure(exc):
            raise
        ledger.failed(to.delivery_id, reason("build", exc, hide=(to.email, to.name)))
        log.warning("delivery %s: message not built (%s)", to.delivery_id, type(exc).__name__)
        return "failed"
    try:
        transport.send(identity.envelope_sender(to.delivery_id), to.email, data)
    except TransientSendError as exc:
        status = ledger.retry_or_fail(to.delivery_id, attempts, f"transient: {exc}")
        return "retry" if status == DeliveryStatus.PENDING else "failed"
    except PermanentSendError as exc:
        if exc.is_mailbox_unknown:
            ledger.bounced(to.delivery_id, to.subscriber_id, f"bounced: {exc}")
            return "bounced"
        ledger.failed(to.delivery_id, f"{brakes.PERMANENT}{exc}")
        return "failed"
    except ValueError as exc:  # an address the SMTP client refuses (as before: no retry)
        ledger.failed(to.delivery_id, reason("send", exc, hide=(to.email, to.name)))
        return "failed"
    ledger.sent(to.delivery_id)
    return "sent"
