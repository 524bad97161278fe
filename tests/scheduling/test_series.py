"""Series creation, the essay snapshot, pause/resume and rescheduling."""

import datetime as dt

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Event, Issue, Series
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.delivery.queries import all_series_progress as list_series
from newsletter.delivery.queries import series_progress as schedule_view
from newsletter.scheduling import series as scheduling
from tests.support.factories import add_series, make_content


def issues(slug="labor"):
    with transaction() as session:
        series = scheduling.get_series(session, slug)
        return [(i.number, i.scheduled_at, i.status) for i in series.issues]


def test_broadcast_creates_one_issue_per_essay(series_id) -> None:
    assert issues() == [
        (1, dt.datetime(2026, 12, 1, 8, 0), "scheduled"),
        (2, dt.datetime(2026, 12, 8, 8, 0), "scheduled"),
        (3, dt.datetime(2026, 12, 15, 8, 0), "scheduled"),
    ]
    with transaction() as session:
        series = session.get(Series, series_id)
        assert (series.title, series.author, series.start_at) == (
            "Tech Labor",
            "Ed",
            dt.datetime(2026, 12, 1, 8, 0),
        )


def test_serial_issues_have_no_date(serial_id) -> None:
    assert [(n, at, st) for n, at, st in issues("serial-labor")] == [
        (1, None, "serial"),
        (2, None, "serial"),
        (3, None, "serial"),
    ]


def test_snapshot_round_trips_to_the_content_model(series_id) -> None:
    with transaction() as session:
        assert scheduling.series_content(session, series_id) == make_content(
            title="Tech Labor", author="Ed"
        )


def test_duplicate_and_bad_series_are_refused(series_id) -> None:
    with pytest.raises(Conflict):
        add_series()
    for kwargs, error in [
        ({"slug": "Bad Slug"}, UserError),
        ({"mode": "sometimes"}, UserError),
        ({"cadence": "fortnightly"}, UserError),
        ({"tz": "Nowhere/Land"}, UserError),
        ({"start": dt.datetime(2020, 1, 1, 9)}, UserError),  # a broadcast in the past
    ]:
        args = {
            "slug": "other", "mode": "broadcast", "cadence": "weekly", "tz": "UTC",
            "start": dt.datetime(2030, 12, 1, 9),
        } | kwargs  # fmt: skip
        with pytest.raises(error), transaction() as session:
            scheduling.create_series(
                session,
                args["slug"],
                make_content(),
                args["cadence"],
                args["start"],
                args["tz"],
                args["mode"],
            )
    with transaction() as session:
        assert session.scalars(select(Series.slug)).all() == ["labor"]


def test_pause_and_resume(series_id) -> None:
    with transaction() as session:
        scheduling.pause(session, "labor")
    with transaction() as session:
        assert scheduling.get_series(session, "labor").status == "paused"
        scheduling.resume(session, "labor")
    with transaction() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
        assert kinds == ["series_paused", "series_resumed"]
    with pytest.raises(NotFound), transaction() as session:
        scheduling.pause(session, "missing")


def test_reschedule_shifts_later_parts_with_the_cadence(series_id) -> None:
    with transaction() as session:
        moved = scheduling.reschedule(session, "labor", 2, dt.datetime(2026, 12, 10, 18, 30))
        assert [i.number for i in moved] == [2, 3]
    assert [at for _, at, _ in issues()] == [
        dt.datetime(2026, 12, 1, 8, 0),
        dt.datetime(2026, 12, 10, 17, 30),
        dt.datetime(2026, 12, 17, 17, 30),
    ]


def test_reschedule_only_one_part_keeps_order(series_id) -> None:
    with transaction() as session:
        scheduling.reschedule(session, "labor", 2, dt.datetime(2026, 12, 9, 9), only=True)
    assert [at for _, at, _ in issues()][1:] == [
        dt.datetime(2026, 12, 9, 8, 0),
        dt.datetime(2026, 12, 15, 8, 0),
    ]
    with pytest.raises(Conflict, match="drop --only"), transaction() as session:
        scheduling.reschedule(session, "labor", 2, dt.datetime(2026, 12, 20, 9), only=True)


def test_reschedule_refuses_sent_missing_past_and_serial(series_id, serial_id, clock) -> None:
    with transaction() as session:
        session.scalar(select(Issue).where(Issue.number == 1)).status = "sending"
    cases = [
        ("labor", 1, dt.datetime(2026, 12, 30, 9), Conflict),
        ("labor", 9, dt.datetime(2026, 12, 30, 9), NotFound),
        ("labor", 2, dt.datetime(2026, 1, 1, 9), UserError),
        ("serial-labor", 1, dt.datetime(2026, 12, 30, 9), UserError),
    ]
    for slug, part, at, error in cases:
        with pytest.raises(error), transaction() as session:
            scheduling.reschedule(session, slug, part, at)


def test_schedule_view_shows_local_times_and_counts(series_id, serial_id) -> None:
    with transaction() as session:
        view = schedule_view(session, "labor")
        assert [p.local_time for p in view.parts] == [
            "2026-12-01 09:00 CET",
            "2026-12-08 09:00 CET",
            "2026-12-15 09:00 CET",
        ]
        assert view.parts[0].deliveries == {}
        assert [v.slug for v in list_series(session)] == ["labor", "serial-labor"]
