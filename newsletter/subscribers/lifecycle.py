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
from dataclasses import dataclass, field
from typing import Any

from newsletter.core.db.models import MailStatus, SubscriberStatus, SubscriptionStatus
from newsletter.core.errors import Conflict, InvalidToken

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

Columns = dict[str, Any]  # column name → new value, for one row
AuditEvent = tuple[str, dict[str, Any]]  # (kind, data) for `core.events.record`


class Outcome:
    """What a join did; the public form answers the same whatever this says."""

    CREATED = "created"
    RESENT = "resent"
    RATE_LIMITED = "rate_limited"
    ALREADY_ACTIVE = "already_active"
    RESTARTED = "restarted"
    PENDING_SERIES = "pending_series"
    SUPPRESSED = "suppressed"
    ADDED = "added"


@dataclass(frozen=True)
class ChangeResult:
    subscriber_id: int | None
    series_id: int | None
    changed: bool


@dataclass(frozen=True, slots=True)
class LastMail:
    """A person's newest confirmation mail as its outbox row has it (a `MailStatus`)."""

    status: str
    sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """What the rules need to know of a subscriber row."""

    id: int
    status: str
    name: str = ""
    confirmed_at: dt.datetime | None = None
    confirmation_sent_at: dt.datetime | None = None
    erased: bool = False
    last_mail: LastMail | None = None  # None: no outbox row (say, from before there was one)


@dataclass(frozen=True, slots=True)
class Membership:
    """What the rules need to know of one subscription.

    `mode` (the series' broadcast | serial) is read only where the subscription may become
    active (confirm, resume, join), so the other writers need not load the series.
    """

    series_id: int
    status: str
    next_due_at: dt.datetime | None = None
    mode: str | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """A request to join one series: signup form, API, operator add or an import row.

    `confirmed` means an operator vouches for consent: active at once, no mail.
    """

    source: str
    confirmed: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Joining:
    """The answer to a `Join`.

    For a new address `subscriber` holds every lifecycle column of the new row and
    `subscription` the new subscription's; for a known one both hold only the changes
    (`subscription` None: leave the subscription as it is, or create none). No event means
    nothing is written at all.
    """

    outcome: str
    subscriber: Columns = field(default_factory=dict)
    subscription: Columns | None = None
    event: AuditEvent | None = None
    mail: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    """Changes to a person and the given subscriptions (in order); no event: no change."""

    subscriber: Columns
    subscriptions: tuple[Columns, ...]
    event: AuditEvent | None

    @property
    def changed(self) -> bool:
        return self.event is not None


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


def due_on_activation(
    mode: str | None, next_due_at: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """Serial mode: the next part is due now (part 1 at the next tick), unless due later."""
    if mode is None:
        raise ValueError("activating a subscription needs its series mode")
    if mode == "serial" and (next_due_at is None or next_due_at < now):
        return now
    return next_due_at


def _activation(mode: str | None, next_due_at: dt.datetime | None, now: dt.datetime) -> Columns:
    due = due_on_activation(mode, next_due_at, now)
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
    mode: str,
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


def _new_address(request: Join, mode: str, now: dt.datetime) -> Joining:
    if request.confirmed:
        status, subscription = SubscriberStatus.ACTIVE, _activation(mode, None, now)
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
    request: Join, mode: str, now: dt.datetime, person: Person, current: Membership | None
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
    subscription = _activation(mode, None if current is None else current.next_due_at, now)
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
        _activation(m.mode, m.next_due_at, now) if m.status == SubscriptionStatus.PENDING else {}
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


def pausing(membership: Membership) -> Transition:
    """Hold a series for a while (the manage page); serial progress is kept."""
    if membership.status == SubscriptionStatus.PAUSED:
        return _nothing()
    if not can_pause(membership.status):
        raise Conflict(
            f"only an active subscription can be paused (this one is {membership.status})"
        )
    return Transition({}, ({"status": SubscriptionStatus.PAUSED},), ("paused", {}))


def resuming(membership: Membership, now: dt.datetime) -> Transition:
    """Continue a paused series; in serial mode the next part is due at once if overdue."""
    if membership.status == SubscriptionStatus.ACTIVE:
        return _nothing()
    if not can_resume(membership.status):
        raise Conflict(
            f"only a paused subscription can be resumed (this one is {membership.status})"
        )
    activation = _activation(membership.mode, membership.next_due_at, now)
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
