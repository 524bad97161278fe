"""A broadcast series whose last part has gone out is finished, and says so to newcomers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from newsletter.core.db.models import Delivery, Event, Series, Subscriber
from newsletter.core.db.session import transaction
from newsletter.delivery.tick import run_tick
from newsletter.subscribers.importer import import_rows, parse_rows
from newsletter.subscribers.queries import SeriesEnded
from newsletter.subscribers.service import add_subscriber, signup
from tests.support.factories import T0, add_subscribers, make_series


def _send_everything_queued() -> None:
    with transaction() as session:
        session.execute(update(Delivery).where(Delivery.status == "queued").values(status="sent"))


def test_the_series_finishes_with_its_last_part(db) -> None:
    with transaction() as session:
        series = make_series(session, parts=2, start=T0)
        add_subscribers(session, series, 3)
        series_id = series.id
    run_tick(T0, enqueue=lambda ids: None)
    _send_everything_queued()
    first = run_tick(T0 + dt.timedelta(minutes=1), enqueue=lambda ids: None)
    assert first.completed and first.finished == []  # part 2 is still to come
    run_tick(T0 + dt.timedelta(days=1), enqueue=lambda ids: None)
    _send_everything_queued()
    last = run_tick(T0 + dt.timedelta(days=1, minutes=1), enqueue=lambda ids: None)
    assert last.finished == [series_id]
    with transaction() as session:
        assert session.get(Series, series_id).status == "finished"
        kinds = session.scalars(select(Event.kind).where(Event.series_id == series_id)).all()
        assert "series_finished" in kinds
    again = run_tick(T0 + dt.timedelta(days=2), enqueue=lambda ids: None)
    assert again.finished == []


def test_a_serial_series_never_finishes_by_itself(db) -> None:
    """Serial series are read at each reader's pace; newcomers can always start at part 1."""
    with transaction() as session:
        series = make_series(session, mode="serial", parts=1, start=T0)
        add_subscribers(session, series, 2, next_due_at=T0)
        series_id = series.id
    run_tick(T0, enqueue=lambda ids: None)
    _send_everything_queued()
    assert run_tick(T0 + dt.timedelta(minutes=1), enqueue=lambda ids: None).finished == []
    with transaction() as session:
        assert session.get(Series, series_id).status == "active"


def test_a_finished_series_takes_no_newcomers(db) -> None:
    """Its page says it has ended; signup, operator add and import refuse in one line."""
    with transaction() as session:
        make_series(session, slug="ended", status="finished")
    for join in (
        lambda s: signup(s, "new@example.org", "New", "ended"),
        lambda s: add_subscriber(s, "op@example.org", "", "ended", confirmed=True),
        lambda s: import_rows(s, *parse_rows("email\nbulk@example.org\n"), "ended"),
    ):
        with pytest.raises(SeriesEnded, match="this series has ended"), transaction() as session:
            join(session)
    with transaction() as session:
        assert session.scalars(select(Subscriber.id)).all() == []
