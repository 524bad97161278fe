"""POST /api/v1/manuscripts/parse: the `content check --json` document, roles, bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from tests.support.factories import api_token, make_account

URL = "/api/v1/manuscripts/parse"
PARAGRAPH = (
    "The night shift starts at ten. Nobody outside the building knows the names of the "
    "people who keep the machines cool, and most of them like it that way."
)
TEXT = f"The Night Shift\n\n{PARAGRAPH}\nWe keep the cloud on the ground.\n{PARAGRAPH}\n"


def _auth(role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_token(make_account(role))}"}


def _series_count() -> int:
    with transaction() as session:
        return session.query(Series).count()


def test_parse_returns_what_content_check_json_prints(client: TestClient, sqlite_db, tmp_path):
    path = tmp_path / "manuscript.txt"
    path.write_text(TEXT, encoding="utf-8")
    printed = json.loads(CliRunner().invoke(app, ["content", "check", str(path), "--json"]).stdout)
    answer = client.post(URL, json={"text": TEXT}, headers=_auth("editor"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == printed
    kinds = [b["type"] for b in answer.json()["essays"][0]["blocks"]]
    assert kinds == ["paragraph", "pull_quote", "paragraph"]


def test_parse_includes_warnings_with_their_place(client: TestClient, sqlite_db) -> None:
    line = "This line stands alone between two paragraphs. It also has a second sentence."
    text = f"Title\n{PARAGRAPH}\n{line}\n{PARAGRAPH}"
    body = client.post(URL, json={"text": text, "slug": "x"}, headers=_auth("admin")).json()
    assert body["warnings"] == [
        {
            "line": 3,
            "essay": 1,
            "block": 1,
            "code": "two-sentences",
            "message": body["warnings"][0]["message"],
        }
    ]
    assert body["warnings"][0]["message"].startswith("line 3 looks like a pull quote")


@pytest.mark.parametrize("role", ["operator", None])
def test_parse_needs_an_editor_token(client: TestClient, sqlite_db, role: str | None) -> None:
    headers = _auth(role) if role else {}
    assert client.post(URL, json={"text": TEXT}, headers=headers).status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"text": "   \n\n"}, 400, "file is empty"),
        ({"text": "Just a sentence.\nAnother one."}, 400, "no title found"),
        ({"text": f"Title\n{PARAGRAPH}\u0007"}, 400, "control character"),
        ({"text": f"Title\n{PARAGRAPH}", "slug": "Not A Slug"}, 422, None),
        ({"text": ""}, 422, None),
        ({"text": "x" * 2_000_001}, 413, "too large"),
        ({}, 422, None),
    ],
)
def test_bad_input_is_a_4xx_with_a_message_and_creates_nothing(
    client: TestClient, sqlite_db, body: dict, status: int, message: str | None
) -> None:
    answer = client.post(URL, json=body, headers=_auth("editor"))
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    if message:
        assert message in detail and "\n" not in detail
    else:
        assert detail and all(error["msg"] for error in detail)
    assert _series_count() == 0


def test_plain_text_body_is_refused_with_a_hint(client: TestClient, sqlite_db) -> None:
    answer = client.post(
        URL, content=TEXT, headers={**_auth("editor"), "content-type": "text/plain"}
    )
    assert answer.status_code == 415
    assert "JSON" in answer.json()["detail"]


def test_openapi_documents_the_parse_answer(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "422"}
    assert set(spec["components"]["schemas"]["ParseOut"]["properties"]) == {"essays", "warnings"}
