"""/api/v1 for the studio: create a series from manuscript text, edit an unsent essay."""

from __future__ import annotations

from sqlalchemy import func, select

from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from tests.support.factories import api_token, make_account

MANUSCRIPT = (
    "The First Letter\n\nWork changed when the machines arrived.\n\n"
    "The Second Letter\n\nNobody asked the workers first.\n"
)


def _auth() -> dict[str, str]:
    return {"authorization": f"Bearer {api_token(make_account('editor'))}"}


def _count() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Series)) or 0


def test_create_from_manuscript_text(client, sqlite_db) -> None:
    body = {
        "slug": "letters",
        "manuscript": MANUSCRIPT,
        "title": "Letters",
        "description": "Two letters.",
        "cadence": "weekly",
        "start": "2030-01-07T09:00",
        "timezone": "Europe/Berlin",
        "mode": "serial",
        "first_part": "next-slot",
    }
    answer = client.post("/api/v1/series", json=body, headers=_auth())
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["mode"] == "serial" and made["description"] == "Two letters."
    assert made["first_part"] == "next-slot"


def test_create_bad_input_creates_nothing(client, sqlite_db) -> None:
    headers = _auth()
    good = {"slug": "letters", "manuscript": MANUSCRIPT, "cadence": "weekly"}
    good["start"] = "2030-01-07T09:00"
    for change, status, words in (
        ({"cadence": "often"}, 400, "cadence"),
        ({"timezone": "Mars/Base"}, 400, "zone"),
        ({"slug": "Bad Slug"}, 422, "slug"),
        ({"manuscript": ""}, 422, "manuscript"),
        ({"mode": "sometimes"}, 422, "mode"),
    ):
        answer = client.post("/api/v1/series", json={**good, **change}, headers=headers)
        assert answer.status_code == status, (change, answer.text)
        assert words in answer.text.lower()
    assert _count() == 0


def test_put_essay(client, series) -> None:
    headers = _auth()
    blocks = [{"type": "paragraph", "text": "Fixed."}, {"type": "pull_quote", "text": "Quote."}]
    answer = client.put(
        "/api/v1/series/labor/essays/2",
        json={"title": "Part Two", "blocks": blocks},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"series": "labor", "number": 2, "title": "Part Two", "blocks": blocks}
    sent = client.put("/api/v1/series/labor/essays/1", json={"title": "x"}, headers=headers)
    assert sent.status_code == 409 and "sent" in sent.json()["detail"]
    for path, body, status in (
        ("/api/v1/series/labor/essays/9", {"title": "x"}, 404),
        ("/api/v1/series/nope/essays/2", {"title": "x"}, 404),
        ("/api/v1/series/labor/essays/2", {}, 422),
        ("/api/v1/series/labor/essays/2", {"blocks": []}, 422),
        ("/api/v1/series/labor/essays/2", {"blocks": [{"type": "h1", "text": "x"}]}, 422),
        ("/api/v1/series/labor/essays/0", {"title": "x"}, 422),
    ):
        answer = client.put(path, json=body, headers=headers)
        assert answer.status_code == status, (path, body, answer.text)
    detail = client.get("/api/v1/series/labor", headers=headers).json()
    assert detail["issues"][1]["title"] == "Part Two"


def test_put_essay_bad_input_has_a_message_and_changes_nothing(client, series) -> None:
    headers = _auth()
    before = client.get("/api/v1/series/labor", headers=headers).json()
    for path, body, status in (
        ("/api/v1/series/labor/essays/2", {"title": "   "}, 400),
        ("/api/v1/series/labor/essays/2", {"title": "x", "colour": "red"}, 422),
        (
            "/api/v1/series/labor/essays/2",
            {"blocks": [{"type": "paragraph", "text": "a\x00"}]},
            422,
        ),
        ("/api/v1/series/labor/essays/2", {"blocks": [{"type": "paragraph", "text": " "}]}, 400),
        ("/api/v1/series/labor/essays/1", {"title": "Rewritten"}, 409),
    ):
        answer = client.put(path, json=body, headers=headers)
        assert answer.status_code == status, (body, answer.text)
        detail = answer.json()["detail"]
        assert detail and (isinstance(detail, list) or len(detail.splitlines()) == 1), detail
    assert client.get("/api/v1/series/labor", headers=headers).json() == before


def test_a_number_is_not_a_date(client, sqlite_db) -> None:
    """pydantic alone would read 1201052 as a Unix timestamp; the schema promises text."""
    body = {"slug": "letters", "manuscript": MANUSCRIPT, "cadence": "weekly", "start": 1900000000}
    answer = client.post("/api/v1/series", json=body, headers=_auth())
    assert answer.status_code == 422 and "not a number" in answer.text
    admin = {"authorization": f"Bearer {api_token(make_account('admin'))}"}
    for since, status in (("1201052", 422), ("0.0", 422), ("2026-01-01T00:00", 200)):
        answer = client.get("/api/v1/audit", params={"since": since}, headers=admin)
        assert answer.status_code == status, answer.text
    assert _count() == 0
