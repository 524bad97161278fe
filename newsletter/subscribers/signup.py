"""Joining a series, one address at a time: the POST /subscribe hot path and the operator add.

Both run on SQLAlchemy Core through the session's connection, with no ORM objects: signup
is the busiest write we have. The rules (new or repeat, re-send or rate-limit, vouched-for
consent) are `lifecycle.join`'s; this module only reads what it needs, asks, and writes the
answer. Any ORM copy of the changed rows already in the session is expired afterwards, so
the caller never reads a stale one.

A confirmation mail is a row in the `mail` outbox written in the same transaction; after
commit a worker is woken, best effort, so a broker that is down changes nothing for the
caller (the tick sends the row when the broker is back).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from newsletter.core.db import dialect, models
from newsletter.core.db.models import Mail, MailKind, Subscriber, Subscription
from newsletter.core.db.session import after_commit
from newsletter.core.errors import Conflict
from newsletter.core.events import record
from newsletter.scheduling.slots import valid_zone
from newsletter.subscribers import confirmation, lifecycle, tasks
from newsletter.subscribers.addresses import clean_name, normalise_email
from newsletter.subscribers.facts import LastMail
from newsletter.subscribers.lifecycle import Join, Joining, Membership, Person
from newsletter.subscribers.queries import series_ref


@dataclass(frozen=True)
class SignupResult:
    """What happened; the web answers identically whatever this says (no state leaks)."""

    subscriber_id: int
    series_id: int
    outcome: str  # a `lifecycle.Outcome`
    mail_sent: bool = False


def signup(
    session: Session,
    email: str,
    name: str | None,
    series_slug: str,
    source: str = "web",
    timezone: str | None = None,
) -> SignupResult:
    """Double opt-in signup; repeat signups re-send (rate-limited) or change nothing.

    A new address costs one series look-up and four INSERTs (subscriber with its
    `confirmation_sent_at`, subscription, event, the confirmation's outbox row), nothing
    else; a worker is woken after commit, best effort. `timezone` is the reader's own zone
    for their send slots (the form's browser zone): unknown names are ignored.
    """
    return _join(session, email, name, series_slug, source, False, valid_zone(timezone))


def add_subscriber(
    session: Session,
    email: str,
    name: str | None,
    series_slug: str,
    confirmed: bool = False,
    source: str = "cli",
) -> SignupResult:
    """Operator add: like `signup`, or straight to active without mail when `confirmed`.

    `Conflict` for someone who unsubscribed or complained: see `lifecycle.join`.
    """
    return _join(session, email, name, series_slug, source, confirmed)


def _join(
    session: Session,
    email: str,
    name: str | None,
    series_slug: str,
    source: str,
    confirmed: bool,
    timezone: str | None = None,
) -> SignupResult:
    address = normalise_email(email)
    request = Join(source, confirmed, clean_name(name), timezone)
    series = series_ref(session, series_slug)
    series.check_joinable()
    conn = _connection(session)
    statements = _statements(session)
    now = models.utcnow()
    fresh = lifecycle.join(request, series.schedule, now)
    subscriber_id = conn.execute(
        statements.insert_subscriber,
        {"email": address.email, "email_key": address.key, **fresh.subscriber},
    ).scalar()
    if subscriber_id is not None:
        conn.execute(
            statements.insert_subscription,
            _new_subscription(subscriber_id, series.id, now, fresh),
        )
        _finish(conn, session, fresh, subscriber_id, series.id, now)
        return SignupResult(subscriber_id, series.id, fresh.outcome, fresh.mail)
    # The address exists (or a concurrent signup inserted it and has committed by now).
    row = conn.execute(statements.existing, {"key": address.key, "series_id": series.id}).first()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish mid-statement
        raise Conflict("this address changed during the signup; please try again")
    last_mail = None if row.mail_status is None else LastMail(row.mail_status, row.mail_sent_at)
    person = Person(
        row.id,
        row.status,
        row.name,
        row.confirmed_at,
        row.confirmation_sent_at,
        last_mail=last_mail,
        timezone=row.timezone,
    )
    sub_id = row.sub_id
    current = None
    if sub_id is not None:
        current = Membership(series.id, row.sub_status, row.next_due_at, series.schedule)
    decision = lifecycle.join(request, series.schedule, now, person, current)
    if decision.event is None:  # suppressed, already active, rate-limited: nothing to write
        return SignupResult(person.id, series.id, decision.outcome)
    if decision.subscription is not None:
        if sub_id is None:
            conn.execute(
                statements.insert_subscription,
                _new_subscription(person.id, series.id, now, decision),
            )
        elif decision.subscription:
            conn.execute(statements.update_subscription, {"_id": sub_id, **decision.subscription})
    if decision.subscriber:
        conn.execute(statements.update_subscriber, {"_id": person.id, **decision.subscriber})
    _finish(conn, session, decision, person.id, series.id, now)
    _expire(session, Subscriber, person.id)
    _expire(session, Subscription, sub_id)
    return SignupResult(person.id, series.id, decision.outcome, decision.mail)


def _connection(session: Session) -> Connection:
    """The session's connection, after writing any pending ORM changes.

    Core statements on the connection bypass autoflush, so flush first: a caller that
    added rows in the same unit of work must see them here, as an ORM query would.
    """
    session.flush()
    return session.connection()


def _new_subscription(
    subscriber_id: int, series_id: int, now: dt.datetime, decision: Joining
) -> dict[str, object]:
    return {
        "subscriber_id": subscriber_id,
        "series_id": series_id,
        "created_at": now,
        **(decision.subscription or {}),
    }


def _finish(
    conn: Connection,
    session: Session,
    decision: Joining,
    subscriber_id: int,
    series_id: int,
    now: dt.datetime,
) -> None:
    """The decision's event, and its confirmation mail: an outbox row now, a wake-up after
    commit (which never raises: with the broker down the tick sends the row)."""
    if decision.event is not None:
        kind, data = decision.event
        record(conn, kind, subscriber_id, series_id, occurred_at=now, **data)
    if decision.mail:
        mail_id = confirmation.queue(conn, subscriber_id, series_id, now)
        after_commit(session, lambda: tasks.wake([mail_id]))


def _expire(session: Session, cls: type, ident: int | None) -> None:
    """Expire a copy of the row the Core statements just changed, if the session holds one."""
    if ident is None or not session.identity_map:
        return
    obj = session.identity_map.get(identity_key(cls, ident))
    if obj is not None:
        session.expire(obj)


def _statements(session: Session) -> _Statements:
    """The Core statements, built once per database kind (construction costs CPU)."""
    kind = dialect.name(session)
    found = _STATEMENTS.get(kind)
    if found is None:
        found = _STATEMENTS[kind] = _Statements(session)
    return found


class _Statements:
    def __init__(self, bind: Session) -> None:
        person, sub, mail = Subscriber.__table__, Subscription.__table__, Mail.__table__
        # One `INSERT … ON CONFLICT (email_key) DO NOTHING RETURNING id`, so two signups of
        # the same new address at once cannot fail on the unique key: the database makes
        # the second wait for the first to commit and then inserts nothing, and the caller
        # reads the winner's row and carries on as a repeat signup. (A SAVEPOINT around a
        # plain insert would do the same for two extra round trips per signup.)
        self.insert_subscriber = dialect.insert_ignoring_conflicts(
            bind, person, "email_key"
        ).returning(person.c.id)
        self.insert_subscription = insert(sub)
        # A repeat: the address, its subscription to this series and what became of its
        # newest confirmation mail, in one look-up (the last by the outbox's subscriber index).
        other = mail.alias("other_mail")
        newest_mail = (
            select(func.max(other.c.id))
            .where(other.c.subscriber_id == person.c.id, other.c.kind == MailKind.CONFIRMATION)
            .correlate(person)
            .scalar_subquery()
        )
        self.existing = (
            select(
                person.c.id,
                person.c.status,
                person.c.name,
                person.c.confirmed_at,
                person.c.confirmation_sent_at,
                person.c.timezone,
                sub.c.id.label("sub_id"),
                sub.c.status.label("sub_status"),
                sub.c.next_due_at,
                mail.c.status.label("mail_status"),
                mail.c.sent_at.label("mail_sent_at"),
            )
            .select_from(
                person.outerjoin(
                    sub,
                    (sub.c.subscriber_id == person.c.id)
                    & (sub.c.series_id == bindparam("series_id")),
                ).outerjoin(mail, mail.c.id == newest_mail)
            )
            .where(person.c.email_key == bindparam("key"))
        )
        self.update_subscriber = update(person).where(person.c.id == bindparam("_id"))
        self.update_subscription = update(sub).where(sub.c.id == bindparam("_id"))


_STATEMENTS: dict[str, _Statements] = {}
