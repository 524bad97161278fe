"""The schedule timeline (/admin/schedule) on both backends: dated broadcast parts in the
window, a serial series' readers by part and what is due in the next day and week; every
console role reads it."""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.core.db.session import transaction
from tests.support.console import login
from tests.support.factories import add_subscribers, make_account, make_series


def _seed(clock) -> None:
    now = clock()
    with transaction() as session:
        broadcast = make_series(session, "labor", 8, start=now + dt.timedelta(days=2),
                                cadence="weekly", title="Labor Letters")  # fmt: skip
        add_subscribers(session, broadcast, 3)
        serial = make_series(session, "nyc", 3, mode="serial", start=now, title="Nyc & <Co>")
        add_subscribers(session, serial, 4, next_due_at=now + dt.timedelta(hours=3))
        add_subscribers(session, serial, 2, next_due_at=now + dt.timedelta(days=3))


@pytest.mark.parametrize("role", ["editor", "operator", "admin"])
def test_every_role_reads_the_timeline(client, db, clock, role) -> None:
    _seed(clock)
    login(client, make_account(role))
    page = client.get("/admin/schedule")
    assert page.status_code == 200
    text = page.text
    assert "Labor Letters" in text and "Nyc &amp; &lt;Co&gt;" in text
    assert text.count("part 1: Essay 1") == 1  # dated in the next four weeks …
    assert "part 5: " not in text  # … and part 5 is five weeks out
    assert "<strong>4</strong> mails due in the next 24 hours, <strong>6</strong>" in text
    assert 'aria-label="Serial readers of Nyc &amp; &lt;Co&gt; by their next part: 6' in text
    longer = client.get("/admin/schedule", params={"weeks": 8}).text
    assert "part 5: " in longer
    assert client.get("/admin/schedule", params={"weeks": 0}).status_code == 400


def test_parts_past_their_date_and_not_out_show_as_overdue(client, db, clock) -> None:
    now = clock()
    with transaction() as session:
        make_series(session, "late", 3, start=now - dt.timedelta(days=8), cadence="weekly",
                    title="Late Letters")  # fmt: skip
    login(client, make_account("operator"))
    text = client.get("/admin/schedule").text
    assert text.count('badge failed">overdue') == 2  # parts 1 and 2, 8 days and 1 day late
    assert "part 3: " in text and "No part dated" not in text
