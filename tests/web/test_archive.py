"""The archive shows sent parts only, and its Atom feed is well-formed and escaped."""

from __future__ import annotations

from xml.etree import ElementTree

from newsletter.core.db.models import DeliveryStatus
from newsletter.core.db.session import transaction
from tests.support.factories import make_delivery, make_series, make_subscriber

ATOM = "{http://www.w3.org/2005/Atom}"


def test_archive_lists_only_sent_parts(client, series):
    page = client.get("/archive/labor")
    assert page.status_code == 200
    assert 'href="/archive/labor/1"' in page.text
    assert 'href="/archive/labor/2"' not in page.text


def test_sent_part_is_readable_and_escaped(client, series):
    page = client.get("/archive/labor/1")
    assert page.status_code == 200
    assert "<blockquote><p>Work is organised by people" in page.text
    assert "Tom &amp; Jerry &lt;script&gt;" in page.text


def test_future_and_unknown_parts_are_404(client, series):
    assert client.get("/archive/labor/2").status_code == 404
    assert client.get("/archive/labor/99").status_code == 404
    assert client.get("/archive/nope").status_code == 404
    assert client.get("/archive/nope/feed.atom").status_code == 404


def test_serial_part_is_public_once_someone_received_it(client, sqlite_db):
    with transaction() as session:
        series = make_series(session, "serial", parts=2, mode="serial")
        reader = make_subscriber(session, series)
        make_delivery(session, series, reader, 1, DeliveryStatus.SENT)
        make_delivery(session, series, reader, 2, DeliveryStatus.PENDING)
    assert client.get("/archive/serial/1").status_code == 200
    assert client.get("/archive/serial/2").status_code == 404


def test_atom_feed(client, series):
    response = client.get("/archive/labor/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    assert entries[0].find(f"{ATOM}title").text == "Essay 1 & <friends>"
    html = entries[0].find(f"{ATOM}content").text
    assert "<blockquote>" in html and "Tom &amp; Jerry &lt;script&gt;" in html
