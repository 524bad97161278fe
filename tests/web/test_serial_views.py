"""Serial mode as the API and the console show it, on both backends: a subscriber's progress
at /api/v1/subscribers/{id}, readers by part on the series page, what is due in 24 hours on
the queue dashboard."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from newsletter.core.db.models import Delivery, DeliveryStatus, Subscription, SubscriptionStatus
from newsletter.core.db.session import transaction
from newsletter.subscribers import service
from newsletter.subscribers.reading import set_timezone
from tests.support.console import login
from tests.support.factories import add_subscribers, api_token, make_account, make_series

NEXT = dt.datetime(2026, 11, 21, 14, 0)  # 09:00 in New York


def _serial() -> tuple[int, list[int]]:
    """A daily serial at 09:00 New York, "Nyc & <Co>", with 4 readers at part 1 (one in
    Tokyo, one paused for two weeks), 2 at part 3 and 1 finished."""
    with transaction() as session:
        series = make_series(
            session, "nyc", 3, mode="serial", start=dt.datetime(2026, 11, 20, 9),
            timezone="America/New_York", title="Nyc & <Co>",
        )  # fmt: skip
        readers = add_subscribers(session, series, 4, next_due_at=NEXT)
        ahead = add_subscribers(session, series, 2, next_due_at=NEXT)
        add_subscribers(session, series, 1, subscription_status=SubscriptionStatus.FINISHED)
        session.execute(
            update(Subscription).where(Subscription.subscriber_id.in_(ahead)).values(next_part=3)
        )
        issue = series.issues[0]
        for reader in ahead:
            session.add(Delivery(issue_id=issue.id, subscriber_id=reader, status="sent"))
        session.add(Delivery(issue_id=series.issues[1].id, subscriber_id=ahead[0],
                             status=DeliveryStatus.SENT))  # fmt: skip
        series_id = series.id
    with transaction() as session:
        set_timezone(session, readers[1], "Asia/Tokyo")
        service.pause_subscription(session, readers[2], series_id, weeks=2)
    return series_id, [*readers, *ahead]


def test_subscriber_detail_reports_progress(client, db, clock) -> None:
    _, readers = _serial()
    headers = {"authorization": f"Bearer {api_token(make_account('operator'))}"}
    body = client.get(f"/api/v1/subscribers/{readers[4]}", headers=headers).json()
    assert body["id"] == readers[4] and body["email"].endswith("@example.org")
    assert body["timezone"] is None and body["status"] == "active"
    assert body["subscriptions"] == [
        {
            "series": "nyc",
            "title": "Nyc & <Co>",
            "mode": "serial",
            "status": "active",
            "round": 1,
            "parts": 3,
            "delivered": 2,
            "next_part": 3,
            "next_due_at": "2026-11-21T14:00:00Z",
            "next_due_local": "2026-11-21T09:00:00-05:00",
            "zone": "America/New_York",
            "paused": False,
            "paused_until": None,
        }
    ]
    tokyo = client.get(f"/api/v1/subscribers/{readers[1]}", headers=headers).json()
    (sub,) = tokyo["subscriptions"]
    assert tokyo["timezone"] == sub["zone"] == "Asia/Tokyo"
    assert sub["next_due_local"] == "2026-11-21T09:00:00+09:00"
    assert sub["next_due_at"] == "2026-11-21T00:00:00Z"
    paused = client.get(f"/api/v1/subscribers/{readers[2]}", headers=headers).json()
    (sub,) = paused["subscriptions"]
    assert (sub["status"], sub["paused"]) == ("paused", True)
    assert sub["paused_until"] == "2026-12-04T12:00:00Z"
    assert sub["next_due_at"] == "2026-12-04T14:00:00Z"
    assert client.get("/api/v1/subscribers/999999", headers=headers).status_code == 404
    assert client.get("/api/v1/subscribers/0", headers=headers).status_code == 422
    assert client.get("/api/v1/subscribers/x", headers=headers).status_code == 422
    editor = {"authorization": f"Bearer {api_token(make_account('editor'))}"}
    assert client.get(f"/api/v1/subscribers/{readers[0]}", headers=editor).status_code == 403


def test_openapi_documents_the_subscriber_detail(client) -> None:
    schema = client.get("/openapi.json").json()
    get = schema["paths"]["/api/v1/subscribers/{subscriber_id}"]["get"]
    ok = get["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/SubscriberDetail") and "404" in get["responses"]
    models = schema["components"]["schemas"]
    detail = models["SubscriberDetail"]["properties"]
    assert {"id", "email", "status", "created_at", "timezone", "subscriptions"} <= set(detail)
    progress = models["SubscriptionProgressOut"]
    assert set(progress["required"]) >= {"mode", "delivered", "next_part", "next_due_at"}
    assert "reader's zone" in progress["properties"]["next_due_local"]["description"]


def test_series_page_shows_readers_by_part(client, db, clock) -> None:
    _serial()
    login(client, make_account("editor"))
    page = client.get("/admin/series/nyc")
    assert page.status_code == 200
    assert "Readers by part" in page.text and "Nyc &amp; &lt;Co&gt;" in page.text
    rows = page.text.split('aria-labelledby="readers"', 1)[1].split("</table>", 1)[0]
    cells = [
        (label, n)
        for label, n in (
            (row.split("<td>", 1)[1].split("</td>", 1)[0], row.split('"num">')[1].split("<")[0])
            for row in rows.split("<tr>")[2:]
        )
    ]
    assert cells == [
        ("next: part 1", "3"),
        ("next: part 2", "0"),
        ("next: part 3", "2"),
        ("finished", "1"),
        ("paused", "1"),
    ]
    assert 'aria-label="Serial readers by their next part: 7 in total"' in page.text
    assert "<title>part 3: 2 readers</title>" in page.text


def test_broadcast_series_page_has_no_reader_spread(client, db, clock) -> None:
    with transaction() as session:
        make_series(session, "weekly", 2, cadence="weekly")
    login(client, make_account("editor"))
    page = client.get("/admin/series/weekly")
    assert page.status_code == 200 and "Readers by part" not in page.text


def test_queue_dashboard_shows_what_is_due_in_24_hours(client, db, clock) -> None:
    _serial()
    clock.advance(hours=3)  # 24 h from 15:00 UTC reach 09:00 tomorrow in New York
    login(client, make_account("operator"))
    page = client.get("/admin/queue")
    assert page.status_code == 200
    table = page.text.split('aria-labelledby="due-soon"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    assert len(rows) == 2  # part 1 (the Tokyo reader first), part 3; paused: not yet
    assert "Nyc &amp; &lt;Co&gt;" in rows[0] and '<td class="num">1</td>' in rows[0]
    assert '<td class="num">3</td>' in rows[0] and "2026-11-21 00:00" in rows[0]
    assert '<td class="num">3</td>' in rows[1] and '<td class="num">2</td>' in rows[1]
