"""The editor and operator consoles: pages render with data, actions call the services."""

from __future__ import annotations

import datetime as dt

from newsletter.core.db.models import Delivery, DeliveryStatus, Series, SeriesStatus
from newsletter.core.db.session import transaction
from newsletter.delivery import control
from newsletter.scheduling import queries
from newsletter.scheduling.series import get_series
from tests.support.console import login
from tests.support.factories import make_account, make_delivery, make_subscriber


def _series_status() -> str:
    with transaction() as session:
        return get_series(session, "labor").status


def test_series_list_and_schedule(client, series):
    login(client, make_account("editor"))
    page = client.get("/admin/series")
    assert page.status_code == 200 and 'href="/admin/series/labor"' in page.text
    page = client.get("/admin/series/labor")
    assert page.status_code == 200
    assert "Essay 2 &amp; &lt;friends&gt;" in page.text
    assert "CET" in page.text or "CEST" in page.text  # local dates
    assert page.text.count('href="/admin/series/labor/preview/') == 3


def test_pause_resume_and_reschedule(client, series):
    token = login(client, make_account("editor"))
    client.post("/admin/series/labor/pause", data={"csrf_token": token})
    assert _series_status() == SeriesStatus.PAUSED
    page = client.post("/admin/series/labor/resume", data={"csrf_token": token})
    assert _series_status() == SeriesStatus.ACTIVE and "Series resumed" in page.text
    when = (dt.datetime.now() + dt.timedelta(days=30)).replace(second=0, microsecond=0)
    page = client.post(
        "/admin/series/labor/reschedule",
        data={"csrf_token": token, "part": "2", "at": when.strftime("%Y-%m-%dT%H:%M")},
    )
    assert page.status_code == 200 and "Schedule updated" in page.text
    assert f"{when:%Y-%m-%d %H:%M}" in page.text


def test_reschedule_mistakes_are_friendly_4xx(client, series):
    token = login(client, make_account("editor"))
    bad_date = client.post(
        "/admin/series/labor/reschedule", data={"csrf_token": token, "part": "2", "at": "soon"}
    )
    assert bad_date.status_code == 400 and "2026-12-01T09:00" in bad_date.text
    past = client.post(
        "/admin/series/labor/reschedule",
        data={"csrf_token": token, "part": "2", "at": "2001-01-01T09:00"},
    )
    assert past.status_code == 400 and "in the past" in past.text
    sent = client.post(
        "/admin/series/labor/reschedule",
        data={"csrf_token": token, "part": "1", "at": "2099-01-01T09:00"},
    )
    assert sent.status_code == 409


def test_preview_at_two_widths(client, series):
    login(client, make_account("editor"))
    page = client.get("/admin/series/labor/preview/2")
    assert page.status_code == 200
    assert 'width="600"' in page.text and 'width="375"' in page.text and "sandbox" in page.text
    email = client.get("/admin/series/labor/preview/2/email.html")
    assert email.status_code == 200 and "<html" in email.text.lower()
    assert "frame-ancestors 'self'" in email.headers["content-security-policy"]
    assert client.get("/admin/series/labor/preview/9").status_code == 404


def test_send_a_test_message(client, series, monkeypatch):
    from newsletter.delivery import testsend

    sent = []

    class FakeTransport:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send(self, sender, recipient, data):
            sent.append((recipient, data))

    monkeypatch.setattr(testsend, "open_transport", lambda settings: FakeTransport())
    token = login(client, make_account("editor"))
    page = client.post(
        "/admin/series/labor/test",
        data={"csrf_token": token, "number": "2", "email": "me@example.com"},
    )
    assert page.status_code == 200 and "Test message sent" in page.text
    ((recipient, data),) = sent
    assert recipient == "me@example.com" and b"[TEST]" in data
    bad = client.post(
        "/admin/series/labor/test", data={"csrf_token": token, "number": "2", "email": "nope"}
    )
    assert bad.status_code == 400


def test_send_a_test_gives_up_quickly_on_a_silent_mail_server(client, series, monkeypatch):
    import socket
    import time

    from newsletter.core.settings import reset_settings

    with socket.socket() as silent:  # accepts connections (backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        monkeypatch.setenv("NEWSLETTER_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("NEWSLETTER_TEST_SEND_TIMEOUT", "0.3")
        reset_settings()
        token = login(client, make_account("editor"))
        started = time.monotonic()
        page = client.post(
            "/admin/series/labor/test",
            data={"csrf_token": token, "number": "2", "email": "me@example.com"},
        )
        elapsed = time.monotonic() - started
    assert page.status_code == 502
    assert "did not answer within 0.3 seconds" in page.text
    assert elapsed < 5


def _deliveries() -> None:
    with transaction() as session:
        series = session.query(Series).one()
        reader = make_subscriber(session, series, "a@example.com")
        other = make_subscriber(session, series, "b@example.com")
        third = make_subscriber(session, series, "c@example.com")
        make_delivery(session, series, reader, 1, DeliveryStatus.SENT)
        make_delivery(session, series, other, 1, DeliveryStatus.FAILED, "554 5.7.1 <b@x>: no")
        make_delivery(session, series, third, 1, DeliveryStatus.BOUNCED, "550 5.1.1 unknown")


def test_queue_dashboard_shows_progress_rate_and_failures(client, series):
    _deliveries()
    login(client, make_account("operator"))
    page = client.get("/admin/queue")
    assert page.status_code == 200
    assert "waiting in <strong>transactional</strong>" in page.text
    assert "1 sent" in page.text and "1 failed" in page.text and "1 bounced" in page.text
    assert "554 5.7.1" in page.text and "550 5.1.1 unknown" in page.text
    assert '<svg class="chart"' in page.text and "1 messages in the last 60 minutes" in page.text


def test_retry_failed_never_touches_sent(client, series):
    _deliveries()
    token = login(client, make_account("operator"))
    page = client.post("/admin/queue/retry", data={"csrf_token": token})
    assert "1 failed deliveries put back" in page.text
    with transaction() as session:
        statuses = sorted(d.status for d in session.query(Delivery))
    assert statuses == ["bounced", "pending", "sent"]


def test_global_pause_and_resume(client, series):
    token = login(client, make_account("operator"))
    page = client.post("/admin/queue/pause", data={"csrf_token": token})
    assert "Sending is paused" in page.text
    with transaction() as session:
        assert control.is_paused(session)
    client.post("/admin/queue/resume", data={"csrf_token": token})
    with transaction() as session:
        assert not control.is_paused(session)


def test_admin_sees_both_navigations(client, series):
    login(client, make_account("admin"))
    page = client.get("/admin/queue")
    assert 'href="/admin/series"' in page.text and 'href="/admin/queue"' in page.text


def test_the_series_page_says_when_parts_go_out(client, series, sqlite_db):
    login(client, make_account("editor"))
    page = client.get("/admin/series/labor").text
    with transaction() as session:
        view = queries.schedule_view(session, "labor")
    assert view.start_local and f"from {view.start_local}" in page
    assert "late joiners get the next part" in page
