"""The reader's control pages (next part now, pause, start again), the manage page's
progress and time zone, and the signup form's browser zone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from newsletter.core.db.models import Delivery, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.tokens import make_token
from tests.support.factories import add_subscribers, make_series

DUE = dt.datetime(2026, 11, 21, 9, 0)  # the clock fixture says 2026-11-20 12:00


def _serial_reader(db: str, clock) -> tuple[int, int]:
    with transaction() as session:
        series = make_series(session, "tales", 3, mode="serial", timezone="Europe/Berlin")
        (reader,) = add_subscribers(session, series, 1, next_due_at=DUE)
        return reader, series.id


def _sub(reader: int) -> Subscription:
    with transaction() as session:
        sub = session.scalars(
            select(Subscription).where(Subscription.subscriber_id == reader)
        ).one()
        session.expunge(sub)
        return sub


def test_bad_links_and_bad_form_values_are_400_pages(db, clock, client) -> None:
    reader, series_id = _serial_reader(db, clock)
    for purpose in ("next", "pause", "restart"):
        assert client.get(f"/{purpose}/forged").status_code == 400
        wrong = make_token("manage", reader, series_id)  # another purpose's token
        assert client.get(f"/{purpose}/{wrong}").status_code == 400
    token = make_token("next", reader, series_id)
    assert client.post(f"/next/{token}", data={"part": "²"}).status_code == 400
    assert client.post(f"/next/{token}", data={"part": "-1"}).status_code == 400
    pause = make_token("pause", reader, series_id)
    assert client.post(f"/pause/{pause}", data={"weeks": "3"}).status_code == 400
    assert _sub(reader).status == "active"
    with transaction() as session:
        assert session.scalars(select(Delivery.id)).all() == []


def test_get_never_acts_and_a_stale_page_releases_nothing(db, clock, client) -> None:
    reader, series_id = _serial_reader(db, clock)
    token = make_token("next", reader, series_id)
    page = client.get(f"/next/{token}")
    assert "Send me part 1 now" in page.text and "0 of 3 parts received" in page.text
    assert _sub(reader).next_part == 1
    client.post(f"/next/{token}", data={"part": "1"})
    assert client.post(f"/next/{token}", data={"part": "1"}).status_code == 200
    sub = _sub(reader)
    assert sub.next_part == 2 and sub.next_due_at == dt.datetime(2026, 11, 21, 8, 0)
    with transaction() as session:
        assert len(session.scalars(select(Delivery.id)).all()) == 1


def test_manage_page_shows_progress_and_changes_the_zone(db, clock, client) -> None:
    reader, series_id = _serial_reader(db, clock)
    manage = make_token("manage", reader, series_id)
    page = client.get(f"/manage/{manage}").text
    assert "part 1 arrives Sat 21 Nov, 10:00 (Europe/Berlin)" in page
    assert "/next/" in page and "/pause/" in page and "/restart/" in page
    moved = client.post(f"/manage/{manage}/timezone", data={"timezone": "Asia/Tokyo"})
    assert "Time zone saved" in moved.text
    assert "part 1 arrives Sat 21 Nov, 09:00 (Asia/Tokyo)" in moved.text  # the slot
    assert _sub(reader).next_due_at == dt.datetime(2026, 11, 21, 0, 0)
    refused = client.post(f"/manage/{manage}/timezone", data={"timezone": "Mars/Olympus"})
    assert refused.status_code == 400 and "unknown time zone" in refused.text


def test_signup_takes_the_browser_zone_and_ignores_an_unknown_one(db, clock, client) -> None:
    with transaction() as session:
        make_series(session, "tales", 2, mode="serial")
    page = client.get("/s/tales").text
    assert 'name="timezone"' in page and "/static/zone.js" in page
    assert "Intl.DateTimeFormat" in client.get("/static/zone.js").text
    for email, zone in (("a@example.org", "America/Chicago"), ("b@example.org", "Nowhere/Land")):
        form = {"email": email, "series": "tales", "timezone": zone}
        assert client.post("/subscribe", data=form).status_code == 200
    with transaction() as session:
        zones = dict(session.execute(select(Subscriber.email, Subscriber.timezone)).all())
    assert zones == {"a@example.org": "America/Chicago", "b@example.org": None}
