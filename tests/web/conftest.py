"""Fixtures for the web tests: the app client and the web defaults every test gets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsletter.core.settings import reset_settings
from newsletter.web import lockout, throttle
from newsletter.web.application import create_app
from tests.support.metrics import BEARER, METRICS_TOKEN
from tests.support.processes import Process, Processes, free_port, wait_http


@pytest.fixture(autouse=True)
def _web_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No padding delay on /subscribe (a timing test sets it back) and fresh rate and
    per-account sign-in counts."""
    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0")
    throttle.reset_local()
    lockout.reset_local()
    yield
    throttle.reset_local()
    lockout.reset_local()


@pytest.fixture(autouse=True)
def _web_app(cheap_password_hashing: None, private_celery_app: None) -> None:
    """Cheap password hashes and worker pings through a throwaway Celery app, for every
    web test (see the two fixtures in tests/conftest.py)."""


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def scrape(monkeypatch: pytest.MonkeyPatch) -> Callable[[TestClient], str]:
    """/metrics as Prometheus reads it: NEWSLETTER_METRICS_TOKEN set, sent as a bearer token."""
    monkeypatch.setenv("NEWSLETTER_METRICS_TOKEN", METRICS_TOKEN)
    reset_settings()

    def get(client: TestClient) -> str:
        response = client.get("/metrics", headers=BEARER)
        assert response.status_code == 200, response.text
        return response.text

    return get


@dataclass
class WebServer:
    base_url: str
    process: Process


@pytest.fixture
def web_server(
    series: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., WebServer]]:
    """Start `newsletter web` on a free loopback port: `web_server(METRICS_BIND="…")` adds
    NEWSLETTER_* settings. One worker, rate limits counted in this run's Redis DB, and the
    "labor" series in this test's SQLite database."""
    monkeypatch.setenv("NEWSLETTER_WEB_WORKERS", "1")
    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0")
    with Processes(dict(os.environ), tmp_path / "logs", grace=0) as processes:

        def start(**settings: str) -> WebServer:
            processes.env = dict(os.environ) | {f"NEWSLETTER_{k}": v for k, v in settings.items()}
            port = free_port()
            process = processes.web(port, "--no-access-log")
            base_url = f"http://127.0.0.1:{port}"
            wait_http(process, f"{base_url}/healthz")
            return WebServer(base_url, process)

        yield start
