"""The Celery configuration that the exactly-once design relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.core import celery_app
from newsletter.core.settings import get_settings, reset_settings

PACKAGE = Path(celery_app.__file__).parent


def test_safe_bulk_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("NEWSLETTER_TICK_SECONDS", "12")
    reset_settings()
    conf = celery_app.build_config(get_settings())
    assert conf["task_serializer"] == "json" and conf["accept_content"] == ["json"]
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1 and conf["task_ignore_result"]
    options = conf["broker_transport_options"]
    assert options["queue_order_strategy"] == "priority"
    assert options["visibility_timeout"] >= 3600
    assert conf["beat_schedule"]["tick"]["schedule"] == 12
    routes = conf["task_routes"]
    assert routes["newsletter.delivery.tasks.send_batch"]["queue"] == "bulk"
    assert routes["newsletter.subscribers.tasks.send_confirmation"]["queue"] == "transactional"


def test_embedded_broker_lives_in_the_data_dir(_isolated_settings: Path) -> None:
    conf = celery_app.build_config(get_settings())
    assert conf["broker_url"] == "filesystem://"
    options = conf["broker_transport_options"]
    folder = Path(options["data_folder_in"])
    assert folder == Path(options["data_folder_out"])
    assert folder.is_relative_to(_isolated_settings.resolve())
    assert not folder.exists()  # created on first use, not when the app is imported
    celery_app.reconfigure()
    celery_app.ensure_broker_folders()
    assert folder.is_dir() and Path(options["control_folder"]).is_dir()


def test_no_eta_or_countdown_anywhere() -> None:
    """Scheduling lives in the database; a broker ETA would outlive the visibility timeout."""
    for path in PACKAGE.glob("*.py"):
        code = re.sub(r'"""[\s\S]*?"""|#.*', "", path.read_text())
        assert not re.search(r"\b(eta|countdown)\s*=", code), path.name


def test_reconfigure_publishes_to_the_new_broker(monkeypatch, redis_url) -> None:
    """Producers acquired after `reconfigure()` talk to the new broker, not a cached one."""
    from newsletter.core import celery_app
    from newsletter.core.settings import reset_settings

    app = celery_app.reconfigure()
    celery_app.ensure_broker_folders()
    with app.producer_or_acquire() as producer:
        assert producer.connection.as_uri().startswith("filesystem://")
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", redis_url)
    reset_settings()
    celery_app.reconfigure()
    try:
        with app.producer_or_acquire() as producer:
            assert producer.connection.as_uri().startswith("redis://")
    finally:
        monkeypatch.delenv("NEWSLETTER_BROKER_URL")
        reset_settings()
        celery_app.reconfigure()
