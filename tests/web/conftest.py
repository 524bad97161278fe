"""Fixtures for the web tests: the app client and the web defaults every test gets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from newsletter.core.settings import reset_settings
from newsletter.web import throttle
from newsletter.web.application import create_app
from tests.support.metrics import BEARER, METRICS_TOKEN


@pytest.fixture(autouse=True)
def _web_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No padding delay on /subscribe (a timing test sets it back) and fresh rate counts."""
    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0")
    throttle.reset_local()
    yield
    throttle.reset_local()


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
