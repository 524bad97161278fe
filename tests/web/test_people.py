"""The subscribers console (/admin/subscribers) on both backends: admins search, add, import,
export, unsubscribe and erase; operators only read; every write is CSRF-checked and audited."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from newsletter.core.db.models import Subscriber, SubscriberStatus, Subscription
from newsletter.core.db.session import transaction
from newsletter.users.audit import actions
from tests.support.console import login
from tests.support.factories import add_subscribers, make_account, make_series

PERSON = re.compile(r'href="/admin/subscribers/\d+"')
CSV = (
    "email,name\n"
    "ana@example.org,Ana\n"
    "not an address,Bad\n"
    '=cmd@example.org,=HYPERLINK("http://evil")\n'
    "ana@example.org,Twice\n"
    "ben@example.org,Ben\n"
)


def _seed() -> list[int]:
    with transaction() as session:
        series = make_series(session, "labor", 3)
        make_series(session, "nyc", 2, mode="serial")
        ids = add_subscribers(session, series, 3, prefix="reader")
        ids += add_subscribers(session, series, 1, emails=["Zoe.Other@Sample.net"])
    return ids


def test_search_exact_and_by_part_paginated(client, db) -> None:
    ids = _seed()
    login(client, make_account("operator"))
    page = client.get("/admin/subscribers", params={"q": "zoe.other@sample.net"})
    assert page.status_code == 200 and "Zoe.Other@Sample.net" in page.text
    assert "reader0@example.org" not in page.text
    part = client.get("/admin/subscribers", params={"q": "@EXAMPLE.org"}).text
    assert all(f"reader{n}@example.org" in part for n in range(3)) and "Zoe" not in part
    wildcard = client.get("/admin/subscribers", params={"q": "reader%"}).text
    assert "No subscriber matches." in wildcard  # LIKE wildcards are matched literally
    everyone = client.get("/admin/subscribers").text
    assert f'href="/admin/subscribers/{ids[-1]}"' in everyone
    assert client.get("/admin/subscribers", params={"q": "a\x00b"}).status_code == 400
    assert client.get("/admin/subscribers", params={"page": 0}).status_code == 400


def test_pages_follow_each_other(client, db) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, "labor", 1), 55)
    login(client, make_account("admin"))
    first = client.get("/admin/subscribers", params={"q": "example.org"}).text
    assert len(PERSON.findall(first)) == 50 and "page=2" in first
    second = client.get("/admin/subscribers", params={"q": "example.org", "page": 2}).text
    assert len(PERSON.findall(second)) == 5 and "Next" not in second


def test_a_subscribers_page_shows_progress_and_events(client, db) -> None:
    ids = _seed()
    login(client, make_account("operator"))
    page = client.get(f"/admin/subscribers/{ids[0]}")
    assert page.status_code == 200
    assert "reader0@example.org" in page.text and "0 of 3 parts" in page.text
    assert "Unsubscribe" not in page.text and "Erase" not in page.text  # read only
    assert client.get("/admin/subscribers/999999").status_code == 404
    assert client.get("/admin/subscribers/0").status_code == 400


def test_operator_may_not_write_and_editor_may_not_read(client, db) -> None:
    ids = _seed()
    token = login(client, make_account("operator"))
    for url in ("/admin/subscribers/add", f"/admin/subscribers/{ids[0]}/erase"):
        assert client.post(url, data={"csrf_token": token, "email": "x@example.org",
                                      "series": "labor"}).status_code == 403  # fmt: skip
    client.cookies.clear()
    login(client, make_account("editor"))
    assert client.get("/admin/subscribers").status_code == 403
    assert client.get("/admin/schedule").status_code == 200


def test_admin_adds_with_and_without_confirmation(client, db, sent) -> None:
    _seed()
    token = login(client, make_account("admin"))
    form = {"csrf_token": token, "email": "New@Example.org", "name": "New", "series": "labor"}
    added = client.post("/admin/subscribers/add", data=form)
    assert added.status_code == 200 and "Subscriber added." in added.text
    assert "pending" in added.text and len(sent) == 1
    quiet = client.post(
        "/admin/subscribers/add", data=form | {"email": "q@example.org", "confirmed": "true"}
    )
    assert "active" in quiet.text and len(sent) == 1
    bad = client.post("/admin/subscribers/add", data=form | {"email": "nope"})
    assert bad.status_code == 400 and "invalid email address" in bad.text
    missing = client.post("/admin/subscribers/add", data=form | {"series": "gone"})
    assert missing.status_code == 404
    assert client.post("/admin/subscribers/add", data=form | {"csrf_token": "x"}).status_code == 403


def test_import_names_bad_rows_and_keeps_the_good_ones(client, db, sent) -> None:
    _seed()
    token = login(client, make_account("admin"))
    response = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token, "series": "labor"},
        files={"file": ("people.csv", CSV.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert "Imported 3, skipped 2" in response.text
    assert "line 3" in response.text and "invalid email address" in response.text
    assert "line 5" in response.text
    with transaction() as session:
        keys = set(session.scalars(select(Subscriber.email_key)))
    assert {"ana@example.org", "ben@example.org", "=cmd@example.org"} <= keys
    assert len(sent) == 3
    not_utf8 = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": token, "series": "labor"},
        files={"file": ("people.csv", b"\xff\xfe", "text/csv")},
    )
    assert not_utf8.status_code == 400 and "not UTF-8" in not_utf8.text


def test_export_is_formula_safe_and_audited(client, db) -> None:
    with transaction() as session:
        add_subscribers(session, make_series(session, "labor", 1), 1, name="=SUM(A1)")
    admin = make_account("admin")
    login(client, admin)
    response = client.get("/admin/subscribers/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "'=SUM(A1)" in response.text and response.text.startswith("id,email,name")
    with transaction() as session:
        assert "people.subscriber_export" in actions(session)


def test_unsubscribe_one_series_or_all_then_erase_after_confirming(client, db) -> None:
    with transaction() as session:
        labor = make_series(session, "labor", 2)
        nyc = make_series(session, "nyc", 2)
        (person,) = add_subscribers(session, labor, 1)
        session.add(Subscription(subscriber_id=person, series_id=nyc.id, status="active",
                                 next_part=1))  # fmt: skip
    token = login(client, make_account("admin"))
    one = client.post(f"/admin/subscribers/{person}/unsubscribe",
                      data={"csrf_token": token, "series": "labor"})  # fmt: skip
    assert one.status_code == 200 and "Unsubscribed." in one.text
    with transaction() as session:
        assert session.get(Subscriber, person).status == SubscriberStatus.ACTIVE
    client.post(f"/admin/subscribers/{person}/unsubscribe", data={"csrf_token": token})
    with transaction() as session:
        assert session.get(Subscriber, person).status == SubscriberStatus.UNSUBSCRIBED

    confirm = client.get(f"/admin/subscribers/{person}/erase")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    with transaction() as session:  # the confirm page alone changed nothing
        assert session.get(Subscriber, person).erased_at is None
    erased = client.post(f"/admin/subscribers/{person}/erase", data={"csrf_token": token})
    assert erased.status_code == 200 and "Subscriber erased." in erased.text
    assert client.get(f"/admin/subscribers/{person}").status_code == 404
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
