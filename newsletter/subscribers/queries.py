"""Read queries of the subscribers feature: what the web, the API, the CLI and the demo read.

Routes and commands ask here instead of writing their own selects, so a filter (erased
people are hidden, status names are checked) is applied the same way everywhere. Nothing
here writes. `series_ref` is the Core series look-up of the signup hot path; the full ORM
`Series` lives in `newsletter.scheduling.series.get_series`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session, selectinload

from newsletter.core.db.models import (
    Event,
    LateJoiners,
    Series,
    SeriesStatus,
    Subscriber,
    Subscription,
)
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.scheduling.series import PLAN_COLUMNS, is_slug, released
from newsletter.scheduling.slots import Plan
from newsletter.subscribers import lifecycle
from newsletter.subscribers.addresses import normalise_email

# The columns of `iter_rows`, in the order a CSV export writes them.
FIELDS = ["id", "email", "name", "status", "source", "created_at", "confirmed_at", "series"]


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """What the subscribers feature needs of a series: id, mode, status and its scheduling
    plan (no ORM object)."""

    id: int
    mode: str
    status: str = SeriesStatus.ACTIVE
    plan: Plan | None = None  # None: only the mode is known (part 1 due at once)

    @property
    def schedule(self) -> Plan | str:
        """What `lifecycle.join` decides part 1's due time by."""
        return self.plan or self.mode

    def check_joinable(self) -> None:
        """Refuse newcomers to a broadcast series whose last part has gone out, unless it
        lets late joiners catch up (then it is evergreen: each newcomer gets every part on
        their own clock). Otherwise they would wait for parts that never come. (A serial
        series starts each reader at part 1.)"""
        catch_up = self.plan is not None and self.plan.late_joiners == LateJoiners.CATCH_UP
        if self.mode == "broadcast" and self.status == SeriesStatus.FINISHED and not catch_up:
            raise SeriesEnded("this series has ended; every part is in its archive")


class SeriesEnded(Conflict):
    """Joining a series that will send nothing more."""


_SERIES_T = Series.__table__
_SERIES_BY_SLUG = select(
    _SERIES_T.c.id, _SERIES_T.c.status, *PLAN_COLUMNS, released(_SERIES_T.c.id)
).where(_SERIES_T.c.slug == bindparam("slug"))


def series_ref(session: Session, slug: str) -> SeriesRef:
    """The series people join, by slug; NotFound like `scheduling.series.get_series`.

    Core on the session's connection (the signup hot path loads no ORM objects). Core
    statements bypass autoflush, so pending ORM changes are flushed first: a series added
    in the same unit of work is found, as an ORM query would find it. A value that is no
    slug names no series, and never reaches the database: PostgreSQL refuses a NUL in text
    with an error (a 500 from POST /subscribe), where it should be this NotFound.
    """
    if not is_slug(slug):
        raise NotFound(f"no series {slug[:100]!r}; see `newsletter series list`")
    session.flush()
    row = session.connection().execute(_SERIES_BY_SLUG, {"slug": slug}).first()
    if row is None:
        raise NotFound(f"no series {slug!r}; see `newsletter series list`")
    plan = Plan(*row[2:])
    return SeriesRef(row[0], plan.mode, row[1], plan)


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    """The person with this address (any spelling of it), or None."""
    key = normalise_email(email).key
    return session.scalar(select(Subscriber).where(Subscriber.email_key == key))


def present_subscriber(session: Session, subscriber_id: int) -> Subscriber | None:
    """The person with this id, or None when missing or erased (erasure keeps a row)."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.erased_at is not None:
        return None
    return subscriber


def manage_page(session: Session, subscriber_id: int) -> dict[str, Any] | None:
    """The manage page's content for a person, or None when they are gone."""
    subscriber = present_subscriber(session, subscriber_id)
    if subscriber is None:
        return None
    subs = [
        {
            "series_id": sub.series_id,
            "title": sub.series.title,
            "slug": sub.series.slug,
            "status": sub.status,
            "can_pause": lifecycle.can_pause(sub.status),
            "can_resume": lifecycle.can_resume(sub.status),
            "can_leave": lifecycle.can_leave(sub.status),
        }
        for sub in sorted(subscriber.subscriptions, key=lambda s: s.series_id)
    ]
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "timezone": subscriber.timezone,
        "subscriptions": subs,
    }


def subscriber_page(
    session: Session, status: str | None = None, after_id: int = 0, limit: int = 100
) -> list[Subscriber]:
    """One page of the API's subscriber list: ids above `after_id`, oldest first."""
    query = select(Subscriber).where(Subscriber.id > after_id).order_by(Subscriber.id)
    if status:
        query = query.where(Subscriber.status == status)
    return list(session.scalars(query.limit(limit)))


def subscriber_counts(session: Session) -> dict[str, int]:
    """How many subscribers are in each status (statuses with none are absent)."""
    rows = session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status))
    return {status: int(n) for status, n in rows}


def select_subscribers(
    session: Session, series_slug: str | None = None, status: str | None = None
) -> Select[tuple[Subscriber]]:
    """Subscribers (not erased), optionally only those in a series and/or with a status."""
    query = select(Subscriber).where(Subscriber.email.is_not(None)).order_by(Subscriber.id)
    if status is not None:
        if status not in lifecycle.STATUSES:
            known = ", ".join(lifecycle.STATUSES)
            raise UserError(f"unknown status {status!r}; use one of {known}")
        query = query.where(Subscriber.status == status)
    if series_slug is not None:
        series = series_ref(session, series_slug)
        query = query.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id).where(Subscription.series_id == series.id)
            )
        )
    return query


def subscriber_ids(
    session: Session, series_slug: str | None = None, status: str | None = None
) -> list[int]:
    """Ids of the subscribers `select_subscribers` selects (e.g. to erase them)."""
    query = select_subscribers(session, series_slug, status).with_only_columns(Subscriber.id)
    return list(session.scalars(query))


def iter_rows(
    session: Session, series_slug: str | None = None, status: str | None = None
) -> Iterator[dict[str, Any]]:
    """Plain dicts (JSON/CSV-ready, keys `FIELDS`) for every matching subscriber."""
    slugs = dict(session.execute(select(Series.id, Series.slug)).all())
    query = select_subscribers(session, series_slug, status).options(
        selectinload(Subscriber.subscriptions)
    )
    for sub in session.scalars(query.execution_options(yield_per=1000)):
        yield {
            "id": sub.id,
            "email": sub.email,
            "name": sub.name,
            "status": sub.status,
            "source": sub.source,
            "created_at": sub.created_at.isoformat() + "Z",
            "confirmed_at": sub.confirmed_at.isoformat() + "Z" if sub.confirmed_at else None,
            "series": ";".join(
                f"{slugs[s.series_id]}:{s.status}"
                for s in sorted(sub.subscriptions, key=lambda s: s.series_id)
            ),
        }


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of the console's address search; `more` when a next page exists."""

    rows: list[Subscriber]
    page: int
    more: bool
    exact: bool  # the query was a whole address: at most one person matches


def search_subscribers(
    session: Session, text: str, page: int = 1, per_page: int = 50
) -> SearchPage:
    """People (not erased) whose normalised address is `text` or contains it, by id.

    A whole address is looked up by its key (any spelling of it finds the person); anything
    else matches a part of the key, case-insensitively, so "@example.org" or "ana" work.
    One row more than a page is read to know whether another page follows.
    """
    text = text.strip()
    if len(text) > 320 or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UserError("search for part of an address: printable text, at most 320 characters")
    query = select(Subscriber).where(Subscriber.email_key.is_not(None))
    exact = False
    if text:
        try:
            key = normalise_email(text).key
            exact = True
        except UserError:
            key = text.lower()
        column = Subscriber.email_key
        query = (
            query.where(column == key)
            if exact
            else query.where(column.contains(key, autoescape=True))
        )
    page = max(page, 1)
    rows = list(
        session.scalars(
            query.order_by(Subscriber.id).offset((page - 1) * per_page).limit(per_page + 1)
        )
    )
    return SearchPage(rows[:per_page], page, len(rows) > per_page, exact)


def subscriber_events(session: Session, subscriber_id: int, limit: int = 100) -> list[Event]:
    """A person's newest events first (ids and small facts; what the console shows)."""
    query = (
        select(Event)
        .where(Event.subscriber_id == subscriber_id)
        .order_by(Event.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
