"""Fixtures for the web tests: the app client and the web defaults every test gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from newsletter.web import lockout, throttle
from newsletter.web.application import create_app


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
