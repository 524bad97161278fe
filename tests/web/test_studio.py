"""The studio's "new series" page as plain form POSTs (no JavaScript)."""

from __future__ import annotations

from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from tests.support.console import login
from tests.support.factories import make_account

MANUSCRIPT = (
    "The First Letter\n\nWork changed when the machines arrived. It changed again.\n\n"
    "Nobody asked first. Nobody ever does.\n\n"
    "The Second Letter\n\nThe workers organised anyway.\n"
)


def test_paste_shape_and_create(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    assert client.get("/admin/series/new").status_code == 200
    made = client.post(
        "/admin/series/new", data={"csrf_token": token, "manuscript": MANUSCRIPT},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    url = made.headers["location"]
    page = client.get(url).text
    assert "Part 1: The First Letter" in page and "studio-paragraph" in page
    edit = {"csrf_token": token, "essay": "0", "index": "0"}
    client.post(f"{url}/block", data={**edit, "action": "kind"})
    assert 'data-kind="pull_quote"' in client.get(url).text
    client.post(f"{url}/block", data={**edit, "action": "merge"})
    bad = client.post(f"{url}/block", data={**edit, "index": "9", "action": "kind"})
    assert bad.status_code == 404 and "has no block 10" in bad.text
    settings = {
        "csrf_token": token, "title": "Letters", "slug": "letters", "mode": "serial",
        "cadence": "weekly", "start": "soon", "timezone": "Europe/Berlin",
    }  # fmt: skip
    wrong = client.post(f"{url}/create", data=settings)
    assert wrong.status_code == 400 and "start must be a date and time" in wrong.text
    assert 'value="letters"' in wrong.text  # nothing lost
    done = client.post(
        f"{url}/create", data={**settings, "start": "2030-01-07T09:00"}, follow_redirects=False
    )
    assert (
        done.status_code == 303 and done.headers["location"] == "/admin/series/letters?done=created"
    )
    with transaction() as session:
        series = session.query(Series).one()
        assert series.mode == "serial" and series.essays[0].blocks[0]["type"] == "pull_quote"
    gone = client.get(url)  # the draft now says where it went, and takes no more edits
    assert gone.status_code == 200 and 'href="/admin/series/letters"' in gone.text
    late = client.post(f"{url}/block", data={**edit, "action": "kind"})
    assert late.status_code == 409 and "scheduled as the series" in late.text


def test_empty_manuscript_is_a_message(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    page = client.post("/admin/series/new", data={"csrf_token": token, "manuscript": " "})
    assert page.status_code == 400 and "manuscript is empty" in page.text
