"""Where readers stand: `subscribers show` (text and JSON) over a frozen clock, and the
spread of a serial series' readers over its parts, on both backends."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Series,
    Subscription,
    SubscriptionStatus,
)
from newsletter.core.db.session import transaction
from newsletter.delivery.tick import run_tick
from newsletter.subscribers import service
from newsletter.subscribers.progress import reader_spread
from newsletter.subscribers.queries import find_subscriber
from newsletter.subscribers.reading import set_timezone
from tests.support.cli import CONTENT, fails, ok
from tests.support.clock import Clock
from tests.support.factories import add_subscribers, make_series

CONFIRMED_AT = dt.datetime(2026, 11, 30, 3, 28)  # 22:28 the evening before in New York


@pytest.fixture
def nyc(db: str, clock: Clock) -> int:
    """A serial series, daily at 09:00 New York from 2026-11-30, part 1 at the next slot;
    Ana and Ken confirmed at 03:28 UTC. Returns the series id."""
    clock.now = CONFIRMED_AT
    ok(
        "series", "create", "nyc", "--from", str(CONTENT), "--cadence", "daily",
        "--start", "2026-11-30T09:00", "--tz", "America/New_York", "--mode", "serial",
        "--first-part", "next-slot",
    )  # fmt: skip
    for email in ("ana@example.com", "ken@example.com"):
        ok("subscribers", "add", email, "--series", "nyc", "--name", "[b]Reader[/b]",
           "--confirmed")  # fmt: skip
    with transaction() as session:
        return session.scalars(select(Series.id).where(Series.slug == "nyc")).one()


def _id(email: str) -> int:
    with transaction() as session:
        person = find_subscriber(session, email)
        assert person is not None
        return person.id


def _show(email: str) -> dict:
    data = json.loads(ok("subscribers", "show", email, "--json"))
    (sub,) = data["subscriptions"]
    return sub


def _send_due(clock: Clock) -> None:
    """One tick at the clock's time, then every delivery it made counts as sent."""
    run_tick(clock.now, enqueue=lambda ids: None)
    with transaction() as session:
        session.execute(update(Delivery).values(status=DeliveryStatus.SENT, sent_at=clock.now))


def test_show_follows_a_serial_reader_through_parts_zones_and_pauses(nyc, clock) -> None:
    ana = _show("ana@example.com")
    assert ana == {
        "series": "nyc",
        "title": ana["title"],
        "mode": "serial",
        "status": "active",
        "round": 1,
        "parts": 4,
        "delivered": 0,
        "next_part": 1,
        "next_due_at": "2026-11-30T14:00:00Z",  # 09:00 EST, not 03:28 UTC
        "next_due_local": "2026-11-30T09:00:00-05:00",
        "zone": "America/New_York",
        "paused": False,
        "paused_until": None,
    }
    with transaction() as session:
        assert set_timezone(session, _id("ken@example.com"), "Asia/Tokyo") == "Asia/Tokyo"
    ken = _show("ken@example.com")
    assert (ken["zone"], ken["next_due_at"]) == ("Asia/Tokyo", "2026-12-01T00:00:00Z")
    assert ken["next_due_local"] == "2026-12-01T09:00:00+09:00"

    clock.now = dt.datetime(2026, 11, 30, 14, 0)
    _send_due(clock)
    ana = _show("ana@example.com")
    assert (ana["delivered"], ana["next_part"]) == (1, 2)
    assert ana["next_due_at"] == "2026-12-01T14:00:00Z"
    text = ok("subscribers", "show", "ana@example.com")
    assert "mode serial · status active · round 1" in text
    assert "delivered 1 of 4 parts" in text
    assert "next part 2: 2026-12-01 14:00 UTC · 2026-12-01 09:00 EST (America/New_York)" in text
    assert "not paused" in text and "the series' zone" in text

    with transaction() as session:
        service.pause_subscription(session, _id("ana@example.com"), nyc, weeks=2)
        service.pause_subscription(session, _id("ken@example.com"), nyc)
    ana = _show("ana@example.com")
    assert (ana["status"], ana["paused"]) == ("paused", True)
    assert ana["paused_until"] == "2026-12-14T14:00:00Z"
    assert ana["next_due_at"] == "2026-12-14T14:00:00Z"  # the first slot once it ends
    assert "paused until 2026-12-14 14:00 UTC" in ok("subscribers", "show", "ana@example.com")
    ken = _show("ken@example.com")
    assert (ken["paused"], ken["paused_until"], ken["next_due_at"]) == (True, None, None)
    text = ok("subscribers", "show", "KEN@example.com")
    assert "paused indefinitely" in text and "next part 1: when resumed" in text
    assert "their zone Asia/Tokyo" in text
    assert "ana" not in text.lower()  # one person's data only


def test_show_reads_the_ledger_of_the_current_round_across_dst(nyc, clock) -> None:
    ana = _id("ana@example.com")
    with transaction() as session:
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id == ana)
            .values(next_due_at=dt.datetime(2027, 3, 15, 13, 0), next_part=3, round=2)
        )
        series = session.get_one(Series, nyc)
        for number, round_ in ((1, 1), (2, 1), (1, 2), (2, 2)):
            issue = series.issues[number - 1]
            status = DeliveryStatus.FAILED if (number, round_) == (2, 2) else DeliveryStatus.SENT
            session.add(Delivery(issue_id=issue.id, subscriber_id=ana, round=round_, status=status))
    data = _show("ana@example.com")
    assert (data["round"], data["delivered"], data["next_part"]) == (2, 1, 3)
    assert data["next_due_local"] == "2027-03-15T09:00:00-04:00"  # EDT: still 09:00
    assert "2027-03-15 09:00 EDT" in ok("subscribers", "show", "ana@example.com")


def test_show_of_a_broadcast_reader_and_finished_and_departed_ones(db, clock) -> None:
    with transaction() as session:
        weekly = make_series(
            session, "weekly", 3, start=dt.datetime(2026, 11, 24, 9), cadence="weekly",
            timezone="Europe/Berlin", published=1,
        )  # fmt: skip
        serial = make_series(session, "done", 2, mode="serial")
        add_subscribers(session, weekly, 1, emails=["bo@example.com"])
        add_subscribers(session, serial, 1, emails=["cy@example.com"],
                        subscription_status=SubscriptionStatus.FINISHED)  # fmt: skip
        add_subscribers(session, serial, 1, emails=["di@example.com"],
                        subscription_status=SubscriptionStatus.UNSUBSCRIBED)  # fmt: skip
    bo = _show("bo@example.com")
    assert (bo["mode"], bo["next_part"]) == ("broadcast", 2)
    assert bo["next_due_at"] == "2026-12-01T08:00:00Z"
    assert bo["next_due_local"] == "2026-12-01T09:00:00+01:00"
    for email in ("cy@example.com", "di@example.com"):
        assert (_show(email)["next_part"], _show(email)["next_due_at"]) == (None, None)
    assert "next part: none" in ok("subscribers", "show", "cy@example.com")


def test_show_refuses_an_unknown_address(db) -> None:
    assert fails("subscribers", "show", "nobody@example.com") == "no subscriber with that address"
    assert "invalid email" in fails("subscribers", "show", "not an address")


def test_spread_of_serial_readers_over_parts(db, clock) -> None:
    with transaction() as session:
        series = make_series(session, "spread", 3, mode="serial")
        add_subscribers(session, series, 4)
        ids = add_subscribers(session, series, 3)
        add_subscribers(session, series, 2, subscription_status=SubscriptionStatus.FINISHED)
        add_subscribers(session, series, 1, subscription_status=SubscriptionStatus.PAUSED)
        add_subscribers(session, series, 5, subscription_status=SubscriptionStatus.PENDING)
        add_subscribers(session, series, 1, subscription_status=SubscriptionStatus.UNSUBSCRIBED)
        session.execute(
            update(Subscription).where(Subscription.subscriber_id.in_(ids[:2])).values(next_part=3)
        )
        session.execute(
            update(Subscription).where(Subscription.subscriber_id == ids[2]).values(next_part=4)
        )
        spread = reader_spread(session, series.id)
    assert spread.buckets() == [
        ("part 1", 4),
        ("part 2", 0),
        ("part 3", 2),
        ("finished", 3),  # an active reader past the last part waits for an added one
        ("paused", 1),
    ]
    assert spread.readers == 10
