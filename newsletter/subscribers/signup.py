"""Signup: the hot path of POST /subscribe, and the double opt-in rules for repeats.

Split from `service` because it runs on SQLAlchemy Core for speed (no ORM objects), which
needs its own statements and care about the session's identity map; the rules it applies
are the lifecycle's, documented in `newsletter.subscribers.service`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from newsletter.core.db import models
from newsletter.core.db.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.core.db.session import after_commit
from newsletter.core.errors import Conflict
from newsletter.core.events import record
from newsletter.subscribers import tasks
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.lifecycle import SUPPRESSED
from newsletter.subscribers.queries import SeriesRef, series_ref

# A pending address gets at most one confirmation mail per this interval, however often
# the form is submitted: the signup form must not become a way to mail-bomb someone.
RESEND_INTERVAL = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SignupResult:
    """What happened; the web answers identically whatever this says (no state leaks)."""

    subscriber_id: int
    series_id: int
    outcome: str  # created | resent | rate_limited | already_active | restarted |
    #               pending_series | suppressed | added
    mail_sent: bool = False


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
    series = series_ref(session, series_slug)
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
        record(conn, "signup", subscriber_id, series.id, occurred_at=now, source=source)
        _confirm_after_commit(session, subscriber_id, series.id)
        return SignupResult(subscriber_id, series.id, "created", True)
    # The address exists (or a concurrent signup inserted it and has committed by now).
    row = conn.execute(statements.existing, {"key": address.key, "series_id": series.id}).first()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish mid-statement
        raise Conflict("this address changed during the signup; please try again")
    return _repeat_signup(conn, session, statements, _Existing(*row), series, name, source)


_SUBSCRIBER_T = Subscriber.__table__
_SUBSCRIPTION_T = Subscription.__table__


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


def _confirm_after_commit(session: Session, subscriber_id: int, series_id: int) -> None:
    after_commit(session, lambda: tasks.queue_confirmation(subscriber_id, series_id))


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
    record(conn, kind, known.id, series.id, occurred_at=now, **data)
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
