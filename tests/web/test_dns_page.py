"""/admin/dns: operators see the same records and checks as `newsletter dns`."""

from __future__ import annotations

import html

import pytest

from newsletter.core.settings import reset_settings
from newsletter.mail.dnsrecords import dns_plan
from tests.support.console import login
from tests.support.dkimkeys import rsa_pair
from tests.support.factories import make_account


def test_operator_sees_records_and_checks(client, db, monkeypatch: pytest.MonkeyPatch) -> None:
    key = rsa_pair()
    monkeypatch.setenv("NEWSLETTER_DKIM_DOMAIN", "example.com")
    monkeypatch.setenv("NEWSLETTER_DKIM_SELECTOR", "nl2026")
    monkeypatch.setenv("NEWSLETTER_DKIM_PRIVATE_KEY", key.private_pem.decode())
    reset_settings()
    login(client, make_account("operator"))
    page = client.get("/admin/dns")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for record in dns_plan().records:
        assert record.zone_line() in text
    assert "NEWSLETTER_BOUNCE_DOMAIN is unset" in text
    assert 'href="/admin/dns" aria-current="page"' in page.text


def test_the_nav_links_it_for_operators_only(client, db) -> None:
    login(client, make_account("operator"))
    assert 'href="/admin/dns"' in client.get("/admin/queue").text


def test_editors_may_not(client, series) -> None:
    login(client, make_account("editor"))
    assert client.get("/admin/dns").status_code == 403
    assert 'href="/admin/dns"' not in client.get("/admin/series").text
