"""The subscriber lifecycle: every rule about who gets mail is decided here, and only here.

Statuses: a Subscriber is pending → active → unsubscribed, or is suppressed as bounced /
complained; each Subscription (person × series) is pending → active ⇄ paused → unsubscribed
/ stopped / finished. Double opt-in is per series: joining a second series needs its own
confirmation even for an active address.

Everything here is pure (no database, no clock, no mail): a writer reads what it knows of a
person (`Person`) and their subscriptions (`Membership`), asks a function below, and applies
the answer: column changes for the subscriber and subscription rows, the audit event, whether
a confirmation mail is due, and the outcome. Signup and the operator's add apply it on
SQLAlchemy Core one row at a time (`signup`), the CSV import in bulk (`importer`), links and
the manage page on the ORM (`changes`, `suppression`). So the rules cannot drift between
those three write paths, and they are tested without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from newsletter.core.db.models import MailStatus, SubscriberStatus, SubscriptionStatus
from newsletter.core.errors import Conflict, InvalidToken
from newsletter.scheduling.slots import Plan, first_due, next_slot
from newsletter.subscribers.facts import (
    AuditEvent,
    Columns,
    Join,
    Joining,
    Membership,
    Outcome,
    Person,
    Transition,
)

# Every subscriber status, in lifecycle order (the CLI filters by these).
STATUSES = (
    SubscriberStatus.PENDING,
    SubscriberStatus.ACTIVE,
    SubscriberStatus.UNSUBSCRIBED,
    SubscriberStatus.BOUNCED,
    SubscriberStatus.COMPLAINED,
)
# Addresses that must never be mailed again, whatever a form or an operator says.
SUPPRESSED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)
# Addresses we may still write to: consent asked for or given, and not withdrawn.
REACHABLE = (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE)
# Subscriptions that were confirmed once; a repeat signup leaves them alone.
CONFIRMED = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.FINISHED)
# A pending address gets at most one confirmation mail per this interval, however often
# the form is submitted: the signup form must not become a way to mail-bomb someone.
RESEND_INTERVAL = dt.timedelta(minutes=10)
# The `source` of people added by the CSV import; their event is `imported`.
IMPORT = "import"


@dataclass(frozen=True)
class ChangeResult:
    subscriber_id: int | None
    series_id: int | None
    changed: bool


def _nothing(count: int = 1) -> Transition:
    return Transition({}, ({},) * count, None)


def confirmation_due(person: Person, now: dt.datetime) -> bool:
    """Whether a repeat signup gets a confirmation mail now: never while one is on its way (a
    duplicate), at once after an unsubscribe (only the owner can) or when the last one never
    arrived, else once per `RESEND_INTERVAL` from when the last went out (or was asked for)."""
    last = person.last_mail
    if last is not None and last.status in MailStatus.OPEN:
        return False
    if person.status == SubscriberStatus.UNSUBSCRIBED:
        return True
    if last is not None and last.status != MailStatus.SENT:
        return True  # failed or skipped: nothing reached them
    sent_at = person.confirmation_sent_at if last is None else last.sent_at
    return sent_at is None or now - sent_at >= RESEND_INTERVAL


def as_plan(mode: str | Plan | None) -> Plan:
    """The series' plan; a bare mode stands for a series whose part 1 is due at once."""
    if mode is None:
        raise ValueError("activating a subscription needs its series mode")
    if isinstance(mode, Plan):
        return mode
    return Plan(mode, "daily", "UTC", dt.datetime(2000, 1, 1))


def due_on_activation(
    mode: str | Plan | None,
    next_due_at: dt.datetime | None,
    now: dt.datetime,
    zone: str | None = None,
    *,
    first: bool = True,
) -> dt.datetime | None:
    """When the next part is due once the subscription is active again.

    `first` (a confirmation or an add): when part 1 is due by the series' plan (serial:
    at once or at the next slot in the reader's `zone`; broadcast: only a late joiner who
    catches up). A resume keeps a due time still ahead, makes an overdue part due now, and
    gives a serial reader with none the next part now.
    """
    plan = as_plan(mode)
    if next_due_at is not None and next_due_at >= now:
        return next_due_at
    if next_due_at is not None:
        return now
    if first:
        return first_due(plan, zone, now)
    return now if plan.serial else None


def _activation(
    mode: str | Plan | None,
    next_due_at: dt.datetime | None,
    now: dt.datetime,
    zone: str | None = None,
    *,
    first: bool = True,
) -> Columns:
    due = due_on_activation(mode, next_due_at, now, zone, first=first)
    columns: Columns = {"status": SubscriptionStatus.ACTIVE}
    if due != next_due_at:
        columns["next_due_at"] = due
    return columns


def _changes(current: Person | Membership | None, wanted: Columns | None) -> Columns | None:
    """Only what differs from the current row (all of `wanted` when there is no row)."""
    if wanted is None or current is None:
        return wanted
    return {key: value for key, value in wanted.items() if getattr(current, key) != value}


def _join_event(request: Join) -> AuditEvent:
    if request.source == IMPORT:
        return "imported", {"confirmed": request.confirmed}
    if request.confirmed:
        return "added", {"source": request.source, "confirmed": True}
    return "signup", {"source": request.source}


def join(
    request: Join,
    mode: str | Plan,
    now: dt.datetime,
    person: Person | None = None,
    current: Membership | None = None,
) -> Joining:
    """Join a series in `mode`: a new address (`person` None) or a known one.

    `current` is the known person's subscription to this series, if any. Raises `Conflict`
    when an operator tries to vouch for someone who withdrew consent.
    """
    if person is None:
        return _new_address(request, mode, now)
    if request.confirmed:
        return _vouched(request, mode, now, person, current)
    return _opt_in(request, now, person, current)


def _new_address(request: Join, mode: str | Plan, now: dt.datetime) -> Joining:
    if request.confirmed:
        subscription = _activation(mode, None, now, request.timezone)
        status = SubscriberStatus.ACTIVE
    else:
        status, subscription = SubscriberStatus.PENDING, {"status": SubscriptionStatus.PENDING}
    subscriber = {
        "status": status,
        "name": request.name,
        "source": request.source,
        "created_at": now,
        "confirmed_at": now if request.confirmed else None,
        # A new address always gets its confirmation mail, unless consent is vouched for.
        "confirmation_sent_at": None if request.confirmed else now,
        **({"timezone": request.timezone} if request.timezone else {}),
    }
    outcome = Outcome.ADDED if request.confirmed else Outcome.CREATED
    return Joining(outcome, subscriber, subscription, _join_event(request), not request.confirmed)


def _opt_in(request: Join, now: dt.datetime, person: Person, current: Membership | None) -> Joining:
    """A repeat signup: re-send (rate-limited), re-open, or change nothing."""
    if person.status in SUPPRESSED:
        # Never mail an address that bounced or complained, whatever the form says.
        return Joining(Outcome.SUPPRESSED)
    send = confirmation_due(person, now)
    sub_status = None if current is None else current.status
    subscriber: Columns = {}
    kind, data = "signup", {"source": request.source}
    subscription: Columns | None = {"status": SubscriptionStatus.PENDING}
    if person.status == SubscriberStatus.UNSUBSCRIBED:
        # Consent given again: start over, pending, keeping the name if none was typed.
        subscriber = {
            "status": SubscriberStatus.PENDING,
            "confirmed_at": None,
            "name": request.name or person.name,
        }
        outcome, data = Outcome.RESTARTED, {**data, "restart": True}
    elif person.status == SubscriberStatus.ACTIVE and sub_status in CONFIRMED:
        return Joining(Outcome.ALREADY_ACTIVE)
    elif sub_status == SubscriptionStatus.PENDING:
        if not send:
            return Joining(Outcome.RATE_LIMITED)
        outcome, kind, subscription = Outcome.RESENT, "confirmation_resent", None
    elif person.status == SubscriberStatus.ACTIVE:
        outcome = Outcome.PENDING_SERIES  # a new series needs its own confirmation
    else:
        outcome = Outcome.RESENT
    if send:
        subscriber["confirmation_sent_at"] = now
    return Joining(
        outcome,
        _changes(person, subscriber) or {},
        _changes(current, subscription),
        (kind, data),
        send,
    )


def _vouched(
    request: Join, mode: str | Plan, now: dt.datetime, person: Person, current: Membership | None
) -> Joining:
    """An operator add with consent: straight to active, no mail.

    Even an operator cannot silently re-add someone who unsubscribed or complained: consent
    they withdrew must be given again by them.
    """
    if person.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.COMPLAINED):
        raise Conflict(f"subscriber {person.id} is {person.status}; they must sign up")
    if (
        person.status == SubscriberStatus.ACTIVE
        and current is not None
        and current.status != SubscriptionStatus.PENDING
    ):
        return Joining(Outcome.ALREADY_ACTIVE)
    subscriber = {
        "status": SubscriberStatus.ACTIVE,
        "confirmed_at": person.confirmed_at or now,
        "name": request.name or person.name,
    }
    due = None if current is None else current.next_due_at
    subscription = _activation(mode, due, now, person.timezone)
    return Joining(
        Outcome.ADDED,
        _changes(person, subscriber) or {},
        _changes(current, subscription),
        _join_event(request),
    )


def confirming(
    person: Person | None, memberships: Sequence[Membership], now: dt.datetime
) -> Transition:
    """A confirm link: pending → active for the address and the link's subscriptions."""
    if person is None or person.erased:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    if person.status not in REACHABLE:
        # A stale link must not undo a later unsubscribe or a suppression.
        return _nothing(len(memberships))
    if not memberships:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    subscriber: Columns = {}
    if person.status == SubscriberStatus.PENDING:
        subscriber = {"status": SubscriberStatus.ACTIVE, "confirmed_at": now}
    subs = tuple(
        _activation(m.mode, m.next_due_at, now, person.timezone)
        if m.status == SubscriptionStatus.PENDING
        else {}
        for m in memberships
    )
    changed = bool(subscriber) or any(subs)
    return Transition(subscriber, subs, ("confirmed", {}) if changed else None)


def unsubscribing(
    person: Person,
    memberships: Sequence[Membership],
    series_id: int | None,
    via: str,
    now: dt.datetime,
) -> Transition:
    """Stop one series (or all); the address is unsubscribed once nothing live remains."""
    subs = tuple(
        {"status": SubscriptionStatus.UNSUBSCRIBED}
        if (series_id is None or m.series_id == series_id) and can_leave(m.status)
        else {}
        for m in memberships
    )
    still_live = any(can_leave(m.status) and not s for m, s in zip(memberships, subs, strict=True))
    subscriber: Columns = {}
    if not still_live and person.status in REACHABLE:
        subscriber = {"status": SubscriberStatus.UNSUBSCRIBED, "unsubscribed_at": now}
    changed = bool(subscriber) or any(subs)
    return Transition(subscriber, subs, ("unsubscribed", {"via": via}) if changed else None)


def can_pause(status: str) -> bool:
    return status == SubscriptionStatus.ACTIVE


def can_resume(status: str) -> bool:
    return status == SubscriptionStatus.PAUSED


def can_leave(status: str) -> bool:
    return status in SubscriptionStatus.LIVE


def pausing(
    membership: Membership,
    until: dt.datetime | None = None,
    zone: str | None = None,
) -> Transition:
    """Hold a series until `until` (a pause for a while) or until resumed (None).

    Progress is kept. A pause for a while moves a reader's next part to the first slot
    after it ends (in their `zone`, when `mode` is the series' plan), so the tick only has
    to flip it back to active. Pausing again changes only the end.
    """
    if membership.status == SubscriptionStatus.PAUSED and membership.paused_until == until:
        return _nothing()
    if membership.status != SubscriptionStatus.PAUSED and not can_pause(membership.status):
        raise Conflict(
            f"only an active subscription can be paused (this one is {membership.status})"
        )
    columns: Columns = {"status": SubscriptionStatus.PAUSED}
    if until is not None or membership.paused_until is not None:
        columns["paused_until"] = until
    due = membership.next_due_at
    if until is not None and due is not None and isinstance(membership.mode, Plan):
        plan = membership.mode
        later = next_slot(plan, plan.reader_zone(zone), until - dt.timedelta(seconds=1))
        if due < later:
            columns["next_due_at"] = later
    data = {"until": until.isoformat()} if until is not None else {}
    return Transition({}, (columns,), ("paused", data))


def resuming(membership: Membership, now: dt.datetime) -> Transition:
    """Continue a paused series; in serial mode the next part is due at once if overdue."""
    if membership.status == SubscriptionStatus.ACTIVE:
        return _nothing()
    if not can_resume(membership.status):
        raise Conflict(
            f"only a paused subscription can be resumed (this one is {membership.status})"
        )
    activation = _activation(membership.mode, membership.next_due_at, now, first=False)
    if membership.paused_until is not None:
        activation["paused_until"] = None
    return Transition({}, (activation,), ("resumed", {}))


def suppressing(
    person: Person, memberships: Sequence[Membership], status: str, reason: str
) -> Transition:
    """A bounce or complaint (`status`): never mail this address again, on any series."""
    if person.erased or person.status in (status, SubscriberStatus.COMPLAINED):
        # Nothing left to suppress, or already done; a complaint outranks a bounce.
        return _nothing(len(memberships))
    subs = tuple(
        {"status": SubscriptionStatus.STOPPED} if m.status in SubscriptionStatus.LIVE else {}
        for m in memberships
    )
    return Transition({"status": status}, subs, (status, {"reason": (reason or "")[:500]}))
