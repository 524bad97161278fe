"""/api/v1 with bearer tokens: shapes, paging, validation, and the OpenAPI document."""

from __future__ import annotations

from newsletter.core.db.models import DeliveryStatus, Series
from newsletter.core.db.session import transaction
from newsletter.users.models import ApiToken
from tests.support.factories import api_token, make_account, make_delivery, make_subscriber


def _auth(role: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_token(make_account(role))}"}


def test_tokens_are_stored_hashed(series):
    token = api_token(make_account("editor"))
    with transaction() as session:
        stored = session.query(ApiToken).one().token_hash
    assert token not in stored and len(stored) == 64


def test_series_and_issues(client, series):
    headers = _auth("editor")
    listing = client.get("/api/v1/series", headers=headers).json()
    assert [s["slug"] for s in listing] == ["labor"]
    detail = client.get("/api/v1/series/labor", headers=headers).json()
    assert [i["number"] for i in detail["issues"]] == [1, 2, 3]
    assert detail["issues"][0]["status"] == "sent"
    issues = client.get("/api/v1/series/labor/issues", headers=headers).json()
    one = client.get(f"/api/v1/issues/{issues[1]['id']}", headers=headers).json()
    assert one == issues[1]
    assert client.get("/api/v1/issues/999", headers=headers).status_code == 404
    assert client.get("/api/v1/series/nope", headers=headers).status_code == 404
    assert client.get("/api/v1/series/NOPE", headers=headers).status_code == 422
    # No URL of ours holds a control character: 404 before any route (test_bodies.py).
    assert client.get("/api/v1/series/nope%00", headers=headers).status_code == 404


def test_subscribers_and_deliveries_are_paged(client, series):
    with transaction() as session:
        s = session.query(Series).one()
        readers = [make_subscriber(session, s, f"r{i}@example.com") for i in range(3)]
        for reader in readers:
            make_delivery(session, s, reader, 1, DeliveryStatus.SENT)
    headers = _auth("operator")
    page = client.get("/api/v1/subscribers?limit=2", headers=headers).json()
    assert len(page["items"]) == 2 and page["next_after_id"] == page["items"][-1]["id"]
    rest = client.get(f"/api/v1/subscribers?after_id={page['next_after_id']}", headers=headers)
    assert len(rest.json()["items"]) == 1 and rest.json()["next_after_id"] is None
    deliveries = client.get("/api/v1/deliveries?status=sent", headers=headers).json()
    assert len(deliveries["items"]) == 3
    assert client.get("/api/v1/deliveries?status=bogus", headers=headers).status_code == 422
    assert client.get("/api/v1/subscribers?after_id=-1", headers=headers).status_code == 422


def test_api_signup_reveals_nothing(client, series, sent):
    headers = _auth("operator")
    body = {"email": "x@example.com", "series": "labor"}
    first = client.post("/api/v1/subscribers", json=body, headers=headers)
    second = client.post("/api/v1/subscribers", json=body, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json() == {"status": "check_your_inbox"}
    bad = client.post("/api/v1/subscribers", json={**body, "email": "no"}, headers=headers)
    assert bad.status_code == 400


def test_stats(client, series):
    stats = client.get("/api/v1/stats", headers=_auth("operator")).json()
    assert set(stats["queues"]) == {"transactional", "bulk"}
    assert len(stats["send_rate"]) == 60 and stats["paused"] is False


def test_openapi_documents_the_api_precisely(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/api/v1/stats" in paths and "/healthz" in paths
    assert not any(p.startswith(("/admin", "/manage", "/subscribe")) for p in paths)
    ok = paths["/api/v1/series/{slug}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/SeriesDetail")
    assert "401" in paths["/api/v1/stats"]["get"]["responses"]
