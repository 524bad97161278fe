"""NEWSLETTER_METRICS_BIND: `newsletter web` serves /metrics on a second, private address (and
nothing else there), while the public app keeps answering 404 (or asks for the token)."""

from __future__ import annotations

import socket

import httpx

from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from tests.support.cli import fails
from tests.support.factories import make_subscriber
from tests.support.metrics import BEARER, METRICS_TOKEN, samples
from tests.support.processes import free_port

SUBSCRIBERS = ("newsletter_subscribers", (("status", "active"),))


def _reader() -> None:
    with transaction() as session:
        make_subscriber(session, session.query(Series).one())


def test_metrics_on_their_own_address(web_server):
    _reader()
    bind = f"127.0.0.1:{free_port()}"
    server = web_server(METRICS_BIND=bind)
    public = httpx.get(f"{server.base_url}/metrics")
    assert public.status_code == 404 and "newsletter_" not in public.text
    private = httpx.get(f"http://{bind}/metrics")
    assert private.status_code == 200
    assert samples(private.text)[SUBSCRIBERS] == 1
    for path in ("/", "/healthz", "/admin", "/api/v1/stats"):  # only /metrics lives there
        assert httpx.get(f"http://{bind}{path}").status_code == 404, path


def test_with_a_token_too_both_addresses_ask_for_it(web_server):
    _reader()
    bind = f"127.0.0.1:{free_port()}"
    server = web_server(METRICS_BIND=bind, METRICS_TOKEN=METRICS_TOKEN)
    for base in (server.base_url, f"http://{bind}"):
        assert httpx.get(f"{base}/metrics").status_code == 401
        scraped = httpx.get(f"{base}/metrics", headers=BEARER)
        assert scraped.status_code == 200 and samples(scraped.text)[SUBSCRIBERS] == 1


def test_a_bind_address_in_use_is_one_clear_line(sqlite_db, monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("NEWSLETTER_METRICS_BIND", f"127.0.0.1:{port}")
        reset_settings()
        message = fails("web", "--port", str(free_port()))
    assert message.startswith(f"NEWSLETTER_METRICS_BIND 127.0.0.1:{port}: ")
    assert "in use" in message
