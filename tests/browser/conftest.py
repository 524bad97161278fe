"""A real deployment on loopback for the browser tests.

`newsletter web` (uvicorn) and `celery -A worker worker` run as subprocesses against this
run's SQLite file and Redis DB, mail goes to the aiosmtpd sink (the `sink` fixture), and
Playwright drives Debian's Chromium (never a downloaded browser). Screenshots land in
artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.core import celery_app
from newsletter.core.settings import reset_settings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, Deployment
from tests.support.processes import Processes, free_port, wait_http, wait_worker
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def deployment(
    sqlite_db: str, redis_url: str, sink: SmtpSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Deployment]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    for key, value in {
        "BROKER_URL": redis_url,
        "BASE_URL": base_url,
        "SIGNUP_MIN_SECONDS": "0",
    }.items():
        monkeypatch.setenv(f"NEWSLETTER_{key}", value)
    reset_settings()
    celery_app.reconfigure()
    try:
        with Processes(dict(os.environ), tmp_path / "logs", grace=0) as processes:
            web = processes.web(port)
            worker = processes.worker(1)
            wait_http(web, f"{base_url}/healthz")
            wait_worker(worker)
            yield Deployment(base_url, sink, web, worker)
    finally:
        celery_app.app.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
