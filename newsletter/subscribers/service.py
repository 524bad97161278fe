"""The subscriber lifecycle: the one place that changes who receives mail.

The web pages, the API and the CLI all call these functions. They take the caller's
`Session` first and never commit, so a request or command is one unit of work; mail goes
out only after that unit commits (`after_commit`). Every state change appends an `Event`.

Statuses: a Subscriber is pending → active → unsubscribed, or is suppressed as bounced /
complained; each Subscription (person × series) is pending → active ⇄ paused → unsubscribed
/ stopped / finished. Double opt-in is per series: joining a second series needs its own
confirmation even for an active address.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from newsletter.db import models
from newsletter.db.models import (
    Series,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.session import after_commit
from newsletter.errors import Conflict, InvalidToken, NotFound
from newsletter.subscribers import notify
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.events import record
from newsletter.subscribers.privacy import erase, export
from newsletter.tokens import read_token

__all__ = [
    "SignupResult",
    "add_subscriber",
    "confirm",
    "erase",
    "export",
    "find_subscriber",
    "mark_bounced",
    "mark_complained",
    "pause_subscription",
    "resume_subscription",
    "signup",
    "unsubscribe",
    "unsubscribe_subscriber",
]

log = logging.getLogger(__name__)

# A pending address gets at most one confirmation mail per this interval, however often
# the form is submitted: the signup form must not become a way to mail-bomb someone.
RESEND_INTERVAL = dt.timedelta(minutes=10)
SUPPRESSED = (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


@dataclass(frozen=True)
class SignupResult:
    """What happened; the web answers identically whatever this says (no state leaks)."""

    subscriber_id: int
    series_id: int
    outcome: str  # created | resent | rate_limited | already_active | restarted |
    #               pending_series | suppressed | added
    mail_sent: bool = False


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    key = normalise_email(email).key
    return session.scalar(select(Subscriber).where(Subscriber.email_key == key))


def _get(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    return subscriber


def _subscription(session: Session, subscriber_id: int, series_id: int) -> Subscription | None:
    return session.scalar(
        select(Subscription).where(
            Subscription.subscriber_id == subscriber_id, Subscription.series_id == series_id
        )
    )


def _open_subscription(
    session: Session, subscriber: Subscriber, series: Series | SeriesRef, status: str
) -> Subscription:
    """Create or re-open the subscription to `series` in `status` (pending or active)."""
    now = models.utcnow()
    sub = _subscription(session, subscriber.id, series.id)
    if sub is None:
        sub = Subscription(subscriber_id=subscriber.id, series_id=series.id, created_at=now)
        session.add(sub)
    sub.status = status
    if status == SubscriptionStatus.ACTIVE:
        _activate_progress(sub, series, now)
    session.flush()
    return sub


def _activate_progress(sub: Subscription, series: Series | SeriesRef, now: dt.datetime) -> None:
    # Serial mode: the next part is due now, so part 1 goes out at the next tick.
    if series.mode == "serial" and (sub.next_due_at is None or sub.next_due_at < now):
        sub.next_due_at = now


def signup(
    session: Session, email: str, name: str | None, series_slug: str, source: str = "web"
) -> SignupResult:
    """Double opt-in signup; repeat signups re-send (rate-limited) or change nothing.

    The hot path of POST /subscribe, so it runs on SQLAlchemy Core through the session's
    connection and loads no ORM objects: a new address costs one series look-up and three
    INSERTs (subscriber with its `confirmation_sent_at`, subscription, event), nothing else.
    Any ORM object of this subscriber already in the session is expired after a change, so
    the caller never reads a stale copy.
    """
    address = normalise_email(email)
    name = clean_name(name)
    series = get_series(session, series_slug)
    conn = _connection(session)
    statements = _statements(session)
    now = models.utcnow()
    subscriber_id = conn.execute(
        statements.insert_subscriber,
        {
            "email": address.email,
            "email_key": address.key,
            "name": name,
            "status": SubscriberStatus.PENDING,
            "source": source,
            "created_at": now,
            # A new address always gets its confirmation mail, queued after commit.
            "confirmation_sent_at": now,
        },
    ).scalar()
    if subscriber_id is not None:
        conn.execute(statements.insert_subscription, _new_subscription(subscriber_id, series, now))
        _record(conn, statements, "signup", subscriber_id, series.id, now, source=source)
        _confirm_after_commit(session, subscriber_id, series.id)
        return SignupResult(subscriber_id, series.id, "created", True)
    # The address exists (or a concurrent signup inserted it and has committed by now).
    row = conn.execute(statements.existing, {"key": address.key, "series_id": series.id}).first()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish mid-statement
        raise Conflict("this address changed during the signup; please try again")
    return _repeat_signup(conn, session, statements, _Existing(*row), series, name, source)


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """What signup needs of a series: its id and mode (no ORM object)."""

    id: int
    mode: str


_SERIES_T = Series.__table__
_SUBSCRIBER_T = Subscriber.__table__
_SUBSCRIPTION_T = Subscription.__table__
_EVENT_T = models.Event.__table__
_SERIES_BY_SLUG = select(_SERIES_T.c.id, _SERIES_T.c.mode).where(
    _SERIES_T.c.slug == bindparam("slug")
)


def get_series(session: Session, slug: str) -> SeriesRef:
    """The series people sign up for, by slug (Core; NotFound like the scheduling one)."""
    row = _connection(session).execute(_SERIES_BY_SLUG, {"slug": slug}).first()
    if row is None:
        raise NotFound(f"no series {slug!r}; see `newsletter series list`")
    return SeriesRef(row[0], row[1])


def _connection(session: Session) -> Connection:
    """The session's connection, after writing any pending ORM changes.

    Core statements on the connection bypass autoflush, so flush first: a caller that
    added rows in the same unit of work must see them here, as an ORM query would.
    """
    session.flush()
    return session.connection()


@dataclass(frozen=True, slots=True)
class _Existing:
    """A known address and its subscription to the series (None when it has none)."""

    id: int
    status: str
    name: str
    confirmation_sent_at: dt.datetime | None
    sub_id: int | None
    sub_status: str | None


def _new_subscription(subscriber_id: int, series: SeriesRef, now: dt.datetime) -> dict:
    return {
        "subscriber_id": subscriber_id,
        "series_id": series.id,
        "status": SubscriptionStatus.PENDING,
        "created_at": now,
    }


def _record(
    conn: Connection,
    statements: _Statements,
    kind: str,
    subscriber_id: int,
    series_id: int,
    now: dt.datetime,
    **data: object,
) -> None:
    """`events.record` as one Core INSERT: ids and small facts only."""
    conn.execute(
        statements.insert_event,
        {
            "kind": kind,
            "subscriber_id": subscriber_id,
            "series_id": series_id,
            "data": data,
            "created_at": now,
        },
    )


def _confirm_after_commit(session: Session, subscriber_id: int, series_id: int) -> None:
    after_commit(session, lambda: notify.send_confirmation(subscriber_id, series_id))


def _expire(session: Session, cls: type, ident: int | None) -> None:
    """Expire a copy of the row the Core statements just changed, if the session holds one."""
    if ident is None or not session.identity_map:
        return
    obj = session.identity_map.get(identity_key(cls, ident))
    if obj is not None:
        session.expire(obj)


def _repeat_signup(
    conn: Connection,
    session: Session,
    statements: _Statements,
    known: _Existing,
    series: SeriesRef,
    name: str,
    source: str,
) -> SignupResult:
    ids = (known.id, series.id)
    if known.status in SUPPRESSED:
        # Never mail an address that bounced or complained, whatever the form says.
        return SignupResult(*ids, "suppressed")
    now = models.utcnow()
    last = known.confirmation_sent_at
    # A pending address gets at most one confirmation mail per RESEND_INTERVAL.
    may_send = last is None or now - last >= RESEND_INTERVAL
    changes: dict[str, object] = {}
    if known.status == SubscriberStatus.UNSUBSCRIBED:
        changes = {
            "status": SubscriberStatus.PENDING,
            "confirmed_at": None,
            "name": name or known.name,
        }
        outcome, kind, data = "restarted", "signup", {"source": source, "restart": True}
    else:
        live = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.FINISHED)
        if known.status == SubscriberStatus.ACTIVE and known.sub_status in live:
            return SignupResult(*ids, "already_active")
        if known.sub_status == SubscriptionStatus.PENDING:
            if not may_send:
                return SignupResult(*ids, "rate_limited")
            outcome, kind, data = "resent", "confirmation_resent", {"source": source}
        else:
            active = known.status == SubscriberStatus.ACTIVE
            outcome, kind, data = (
                "pending_series" if active else "resent",
                "signup",
                {"source": source},
            )
    if kind == "signup":  # open or re-open the subscription, pending
        if known.sub_id is None:
            conn.execute(statements.insert_subscription, _new_subscription(known.id, series, now))
        elif known.sub_status != SubscriptionStatus.PENDING:
            conn.execute(
                statements.update_subscription,
                {"_id": known.sub_id, "status": SubscriptionStatus.PENDING},
            )
    if may_send:
        changes["confirmation_sent_at"] = now
        _confirm_after_commit(session, known.id, series.id)
    if changes:
        conn.execute(statements.update_subscriber, {"_id": known.id, **changes})
    _record(conn, statements, kind, known.id, series.id, now, **data)
    _expire(session, Subscriber, known.id)
    _expire(session, Subscription, known.sub_id)
    return SignupResult(*ids, outcome, may_send)


def _statements(session: Session) -> _Statements:
    """The signup path's Core statements, built once per dialect (construction costs CPU)."""
    dialect = session.get_bind().dialect.name
    found = _STATEMENTS.get(dialect)
    if found is None:
        found = _STATEMENTS[dialect] = _Statements(dialect)
    return found


class _Statements:
    def __init__(self, dialect: str) -> None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as upsert
        else:  # pragma: no cover - only SQLite and PostgreSQL are supported
            raise NotImplementedError(f"signup needs ON CONFLICT support ({dialect})")
        person, sub = _SUBSCRIBER_T, _SUBSCRIPTION_T
        # One `INSERT … ON CONFLICT (email_key) DO NOTHING RETURNING id`, so two signups of
        # the same new address at once cannot fail on the unique key: the database makes
        # the second wait for the first to commit and then inserts nothing, and the caller
        # reads the winner's row and carries on as a repeat signup. (A SAVEPOINT around a
        # plain insert would do the same for two extra round trips per signup.)
        self.insert_subscriber = (
            upsert(person)
            .on_conflict_do_nothing(index_elements=[person.c.email_key])
            .returning(person.c.id)
        )
        self.insert_subscription = insert(sub)
        self.insert_event = insert(_EVENT_T)
        # A repeat signup: the address and its subscription to this series in one look-up.
        self.existing = (
            select(
                person.c.id,
                person.c.status,
                person.c.name,
                person.c.confirmation_sent_at,
                sub.c.id,
                sub.c.status,
            )
            .select_from(
                person.outerjoin(
                    sub,
                    (sub.c.subscriber_id == person.c.id)
                    & (sub.c.series_id == bindparam("series_id")),
                )
            )
            .where(person.c.email_key == bindparam("key"))
        )
        self.update_subscriber = update(person).where(person.c.id == bindparam("_id"))
        self.update_subscription = update(sub).where(sub.c.id == bindparam("_id"))


_STATEMENTS: dict[str, _Statements] = {}


def add_subscriber(
    session: Session,
    email: str,
    name: str | None,
    series_slug: str,
    confirmed: bool = False,
    source: str = "cli",
) -> SignupResult:
    """Operator add: like `signup`, or straight to active without mail when `confirmed`.

    Even an operator cannot silently re-add someone who unsubscribed or complained: consent
    they withdrew must be given again by them.
    """
    if not confirmed:
        return signup(session, email, name, series_slug, source=source)
    address = normalise_email(email)
    name = clean_name(name)
    series = get_series(session, series_slug)
    subscriber = session.scalar(select(Subscriber).where(Subscriber.email_key == address.key))
    now = models.utcnow()
    if subscriber is None:
        subscriber = Subscriber(
            email=address.email, email_key=address.key, name=name, source=source, created_at=now
        )
        session.add(subscriber)
    elif subscriber.status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.COMPLAINED):
        raise Conflict(f"subscriber {subscriber.id} is {subscriber.status}; they must sign up")
    else:
        sub = _subscription(session, subscriber.id, series.id)
        if (
            subscriber.status == SubscriberStatus.ACTIVE
            and sub
            and sub.status != SubscriptionStatus.PENDING
        ):
            return SignupResult(subscriber.id, series.id, "already_active")
        subscriber.name = name or subscriber.name
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = subscriber.confirmed_at or now
    session.flush()
    _open_subscription(session, subscriber, series, SubscriptionStatus.ACTIVE)
    record(session, "added", subscriber.id, series.id, source=source, confirmed=True)
    return SignupResult(subscriber.id, series.id, "added")


@dataclass(frozen=True)
class ChangeResult:
    subscriber_id: int | None
    series_id: int | None
    changed: bool


def confirm(session: Session, token: str) -> ChangeResult:
    """Double opt-in confirmation: pending → active for the address and the series."""
    data = read_token(token, "confirm")
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    if subscriber.status in (*SUPPRESSED, SubscriberStatus.UNSUBSCRIBED):
        # A stale link must not undo a later unsubscribe or a suppression.
        return ChangeResult(subscriber.id, data.series_id, False)
    subs = [
        s
        for s in subscriber.subscriptions
        if data.series_id is None or s.series_id == data.series_id
    ]
    if not subs:
        raise InvalidToken("this confirm link is no longer valid; please sign up again")
    now = models.utcnow()
    changed = False
    if subscriber.status == SubscriberStatus.PENDING:
        subscriber.status = SubscriberStatus.ACTIVE
        subscriber.confirmed_at = now
        changed = True
    for sub in subs:
        if sub.status == SubscriptionStatus.PENDING:
            sub.status = SubscriptionStatus.ACTIVE
            _activate_progress(sub, sub.series, now)
            changed = True
    if changed:
        record(session, "confirmed", subscriber.id, data.series_id)
    return ChangeResult(subscriber.id, data.series_id, changed)


def unsubscribe(session: Session, token: str) -> ChangeResult:
    """Leave via a link; idempotent, and a link for an erased person is simply done."""
    data = read_token(token, "unsubscribe")
    subscriber = session.get(Subscriber, data.subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        return ChangeResult(None, data.series_id, False)
    return unsubscribe_subscriber(session, data.subscriber_id, data.series_id, via="link")


def unsubscribe_subscriber(
    session: Session, subscriber_id: int, series_id: int | None = None, via: str = "cli"
) -> ChangeResult:
    """Stop one series (or all); the address is unsubscribed once nothing live remains."""
    subscriber = _get(session, subscriber_id)
    now = models.utcnow()
    changed = False
    for sub in subscriber.subscriptions:
        if (series_id is None or sub.series_id == series_id) and sub.status in (
            SubscriptionStatus.LIVE
        ):
            sub.status = SubscriptionStatus.UNSUBSCRIBED
            changed = True
    still_live = any(s.status in SubscriptionStatus.LIVE for s in subscriber.subscriptions)
    if not still_live and subscriber.status in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE):
        subscriber.status = SubscriberStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
        changed = True
    if changed:
        record(session, "unsubscribed", subscriber.id, series_id, via=via)
    return ChangeResult(subscriber.id, series_id, changed)


def _suppress(session: Session, subscriber_id: int, status: str, reason: str) -> ChangeResult:
    subscriber = _get(session, subscriber_id)
    if subscriber.erased_at is not None:
        return ChangeResult(subscriber.id, None, False)  # nothing left to suppress
    if subscriber.status == status or subscriber.status == SubscriberStatus.COMPLAINED:
        return ChangeResult(subscriber.id, None, False)  # complaint outranks a bounce
    subscriber.status = status
    for sub in subscriber.subscriptions:
        if sub.status in SubscriptionStatus.LIVE:
            sub.status = SubscriptionStatus.STOPPED
    record(session, status, subscriber.id, None, reason=(reason or "")[:500])
    log.info("subscriber %s suppressed: %s", subscriber.id, status)
    return ChangeResult(subscriber.id, None, True)


def mark_bounced(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A permanent bounce: never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.BOUNCED, reason)


def mark_complained(session: Session, subscriber_id: int, reason: str = "") -> ChangeResult:
    """A spam complaint (feedback loop): never mail this address again."""
    return _suppress(session, subscriber_id, SubscriberStatus.COMPLAINED, reason)


def _subscription_or_404(session: Session, subscriber_id: int, series_id: int) -> Subscription:
    sub = _subscription(session, subscriber_id, series_id)
    if sub is None:
        raise NotFound(f"subscriber {subscriber_id} has no subscription to series {series_id}")
    return sub


def pause_subscription(session: Session, subscriber_id: int, series_id: int) -> ChangeResult:
    """Hold a series for a while (the manage page); serial progress is kept."""
    sub = _subscription_or_404(session, subscriber_id, series_id)
    if sub.status == SubscriptionStatus.PAUSED:
        return ChangeResult(subscriber_id, series_id, False)
    if sub.status != SubscriptionStatus.ACTIVE:
        raise Conflict(f"only an active subscription can be paused (this one is {sub.status})")
    sub.status = SubscriptionStatus.PAUSED
    record(session, "paused", subscriber_id, series_id)
    return ChangeResult(subscriber_id, series_id, True)


def resume_subscription(session: Session, subscriber_id: int, series_id: int) -> ChangeResult:
    """Continue a paused series; in serial mode the next part is due at once if overdue."""
    sub = _subscription_or_404(session, subscriber_id, series_id)
    if sub.status == SubscriptionStatus.ACTIVE:
        return ChangeResult(subscriber_id, series_id, False)
    if sub.status != SubscriptionStatus.PAUSED:
        raise Conflict(f"only a paused subscription can be resumed (this one is {sub.status})")
    sub.status = SubscriptionStatus.ACTIVE
    _activate_progress(sub, sub.series, models.utcnow())
    record(session, "resumed", subscriber_id, series_id)
    return ChangeResult(subscriber_id, series_id, True)
