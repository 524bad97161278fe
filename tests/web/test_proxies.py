"""X-Forwarded-For is believed only from NEWSLETTER_FORWARDED_ALLOW_IPS, so a client cannot
rotate the header to get past the per-address rate limits; from a trusted proxy, the address it
vouches for is the one the limits count. In-process (TestClient from a chosen address) and end
to end against `newsletter web` on a free port.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from newsletter.core.settings import SettingsError, get_settings, reset_settings
from newsletter.web.application import create_app

LIMIT = 10  # NEWSLETTER_SIGNUP_RATE_LIMIT's default
JSON = {"accept": "application/json"}


def _signup(client: TestClient | httpx.Client, n: int, forwarded: str | None) -> int:
    headers = dict(JSON)
    if forwarded is not None:
        headers["x-forwarded-for"] = forwarded
    data = {"email": f"reader{n}@example.com", "series": "labor"}
    return client.post("/subscribe", data=data, headers=headers).status_code


def _trust(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NEWSLETTER_FORWARDED_ALLOW_IPS", value)
    reset_settings()


def _client(host: str) -> TestClient:
    """The app as seen from `host` (the address of the TCP peer)."""
    return TestClient(create_app(), base_url="http://testserver", client=(host, 50000))


def test_by_default_rotated_forwarded_for_from_loopback_is_ignored(series, sent):
    with _client("127.0.0.1") as client:
        statuses = [_signup(client, n, f"203.0.113.{n}") for n in range(LIMIT + 2)]
    assert statuses == [200] * LIMIT + [429, 429]


def test_a_trusted_proxy_is_believed(series, sent, monkeypatch):
    _trust(monkeypatch, "127.0.0.1")
    with _client("127.0.0.1") as client:
        assert [_signup(client, n, f"203.0.113.{n}") for n in range(LIMIT + 2)] == [200] * 12
        # …and the address it vouches for is what the limit counts.
        same = [_signup(client, n, "198.51.100.7") for n in range(LIMIT + 1)]
    assert same == [200] * LIMIT + [429]


def test_trusted_networks_and_the_rightmost_untrusted_hop(series, sent, monkeypatch):
    """A client may prepend anything; the proxy appends the address it saw. Only that one
    counts, so rotating the prepended part changes nothing."""
    _trust(monkeypatch, "10.0.0.0/8, 2001:db8::/32")
    with _client("10.1.2.3") as client:
        statuses = [
            _signup(client, n, f"192.0.2.{n}, 198.51.100.9, 10.0.0.5") for n in range(LIMIT + 1)
        ]
    assert statuses == [200] * LIMIT + [429]
    with _client("2001:db8::1") as client:
        assert [_signup(client, n, f"192.0.2.{n}") for n in range(LIMIT + 1)] == [200] * 11


def test_a_peer_outside_the_trusted_networks_is_not_believed(series, sent, monkeypatch):
    _trust(monkeypatch, "10.0.0.0/8")
    with _client("192.0.2.50") as client:
        statuses = [_signup(client, n, f"10.9.9.{n}") for n in range(LIMIT + 1)]
    assert statuses[-1] == 429


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.internal", "127.0.0.1, nonsense"])
def test_a_setting_that_is_not_an_address_is_one_clear_line(monkeypatch, value):
    _trust(monkeypatch, value)
    with pytest.raises(SettingsError, match=r"^NEWSLETTER_FORWARDED_ALLOW_IPS: '.*' is not an IP"):
        get_settings()


# -- end to end: `newsletter web` ------------------------------------------------------------


def test_newsletter_web_ignores_forwarded_for_by_default(web_server):
    with httpx.Client(base_url=web_server().base_url, timeout=10) as client:
        statuses = [_signup(client, n, f"203.0.113.{n}") for n in range(LIMIT + 2)]
    assert statuses == [200] * LIMIT + [429, 429]


def test_newsletter_web_believes_the_proxy_it_is_told_to(web_server):
    server = web_server(FORWARDED_ALLOW_IPS="127.0.0.1/32")
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        rotated = [_signup(client, n, f"203.0.113.{n}") for n in range(LIMIT + 2)]
        same = [_signup(client, n, "198.51.100.7") for n in range(LIMIT + 1)]
    assert rotated == [200] * (LIMIT + 2)
    assert same == [200] * LIMIT + [429]
