"""The operator view on both backends: counts, per-minute send rate, failures, pause."""

from __future__ import annotations

import datetime as dt

from newsletter.core.db.models import Delivery, DeliveryStatus, utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery import control, monitor
from tests.support.factories import make_delivery, make_series, make_subscriber


def test_operator_view(db):
    now = utcnow()
    with transaction() as session:
        series = make_series(session, "labor", parts=2, published=1)
        readers = [make_subscriber(session, series, f"r{i}@example.com") for i in range(4)]
        for i, reader in enumerate(readers[:3]):
            d = make_delivery(session, series, reader, 1, DeliveryStatus.SENT)
            d.sent_at = now - dt.timedelta(minutes=i * 10)
        make_delivery(session, series, readers[3], 1, DeliveryStatus.FAILED, "550 5.7.1 no")
        old = make_delivery(session, series, readers[0], 2, DeliveryStatus.SENT)
        old.sent_at = now - dt.timedelta(hours=2)  # outside the window
        control.set_paused(session, True)
    with transaction() as session:
        view = monitor.operator_view(session, broker=False)
    assert view.paused is True
    assert view.deliveries["sent"] == 4 and view.deliveries["failed"] == 1
    assert view.sent_last_hour == 3
    assert len(view.send_rate) == 60
    assert [n for _, n in view.send_rate if n] == [1, 1, 1]
    assert view.send_rate[-1][0] == now.replace(second=0, microsecond=0)
    (failure,) = view.failures
    assert failure.reply == "550 5.7.1 no" and failure.series_slug == "labor"
    progress = {p.number: p for p in view.issues}
    assert progress[1].counts == {"sent": 3, "failed": 1} and progress[1].share("sent") == 0.75
    data = view.to_dict()
    assert data["sent_last_hour"] == 3 and isinstance(data["generated_at"], str)
    with transaction() as session:
        assert session.query(Delivery).count() == 5


def test_broker_figures_are_unknown_when_the_broker_is_down(monkeypatch, sqlite_db):
    from newsletter.core.settings import reset_settings

    monkeypatch.setenv("NEWSLETTER_BROKER_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    assert monitor.queue_depths() == {"transactional": None, "bulk": None}
