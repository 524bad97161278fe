"""/metrics reads the database at scrape time, and only for the scrape token (or on its own
bind address, tests/web/test_metrics_bind.py); /healthz reports the database and broker."""

from __future__ import annotations

import pytest

from newsletter.core.db.models import DeliveryStatus, Series
from newsletter.core.db.session import transaction
from newsletter.core.settings import SettingsError, get_settings, reset_settings
from tests.support.factories import make_delivery, make_subscriber
from tests.support.metrics import METRICS_TOKEN, samples


def test_metrics(client, series, scrape):
    with transaction() as session:
        s = session.query(Series).one()
        reader = make_subscriber(session, s)
        make_delivery(session, s, reader, 1, DeliveryStatus.SENT)
    found = samples(scrape(client))
    assert found[("newsletter_deliveries", (("status", "sent"),))] == 1
    assert found[("newsletter_deliveries", (("status", "failed"),))] == 0
    assert found[("newsletter_sent_last_hour", ())] == 1
    assert found[("newsletter_subscribers", (("status", "active"),))] == 1
    assert found[("newsletter_signups", ())] == 1
    assert ("newsletter_queue_depth", (("queue", "bulk"),)) in found
    assert found[("newsletter_sending_paused", ())] == 0


def test_metrics_are_not_public_without_a_token(client, series):
    """Nothing configured: no subscriber counts for anyone, and nothing says they exist."""
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer guess"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 404 and "newsletter_" not in response.text


def test_metrics_need_the_bearer_token_when_one_is_set(client, series, scrape):
    scrape(client)  # the right token works
    for headers in (
        {},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
        {"Authorization": "Bearer wrong-token-of-similar-length-xx"},
        {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        {"Authorization": "Bearer \u00e9t\u00e9".encode("latin-1")},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert "newsletter_" not in response.text
    assert client.get("/metrics", headers={"Authorization": f"bearer  {METRICS_TOKEN} "}).is_success


def test_a_short_or_empty_metrics_token(monkeypatch):
    monkeypatch.setenv("NEWSLETTER_METRICS_TOKEN", "")  # compose passes unset variables so
    reset_settings()
    assert get_settings().metrics_token is None
    monkeypatch.setenv("NEWSLETTER_METRICS_TOKEN", "short")
    reset_settings()
    with pytest.raises(SettingsError, match="^NEWSLETTER_METRICS_TOKEN: use at least 16"):
        get_settings()


def test_metrics_queue_depth_from_redis(client, series, redis_url, monkeypatch, scrape):
    import redis

    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    reset_settings()
    r = redis.Redis.from_url(redis_url)
    r.lpush("bulk", "a", "b")
    r.lpush("bulk\x06\x163", "c")
    r.lpush("transactional", "d")
    found = samples(scrape(client))
    assert found[("newsletter_queue_depth", (("queue", "bulk"),))] == 3
    assert found[("newsletter_queue_depth", (("queue", "transactional"),))] == 1


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
