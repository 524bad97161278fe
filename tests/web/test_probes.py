"""/metrics reads the database at scrape time; /healthz reports the database and broker."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from newsletter.core.db.models import DeliveryStatus, Series
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from tests.support.factories import make_delivery, make_subscriber


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics(client, series):
    with transaction() as session:
        s = session.query(Series).one()
        reader = make_subscriber(session, s)
        make_delivery(session, s, reader, 1, DeliveryStatus.SENT)
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = _samples(response.text)
    assert samples[("newsletter_deliveries", (("status", "sent"),))] == 1
    assert samples[("newsletter_deliveries", (("status", "failed"),))] == 0
    assert samples[("newsletter_sent_last_hour", ())] == 1
    assert samples[("newsletter_subscribers", (("status", "active"),))] == 1
    assert samples[("newsletter_signups", ())] == 1
    assert ("newsletter_queue_depth", (("queue", "bulk"),)) in samples
    assert samples[("newsletter_sending_paused", ())] == 0


def test_metrics_queue_depth_from_redis(client, series, redis_url, monkeypatch):
    import redis

    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    reset_settings()
    r = redis.Redis.from_url(redis_url)
    r.lpush("bulk", "a", "b")
    r.lpush("bulk\x06\x163", "c")
    r.lpush("transactional", "d")
    samples = _samples(client.get("/metrics").text)
    assert samples[("newsletter_queue_depth", (("queue", "bulk"),))] == 3
    assert samples[("newsletter_queue_depth", (("queue", "transactional"),))] == 1


def test_healthz_ok(client, sqlite_db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_reports_a_dead_broker(client, sqlite_db, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", "redis://127.0.0.1:1/0")
    reset_settings()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unavailable"}


def test_healthz_reports_a_dead_database(client, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    reset_settings()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unavailable"
