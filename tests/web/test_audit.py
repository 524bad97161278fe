"""The audit trail of console and API actions: one mechanism records every route, the
admins read it (page, CSV, /api/v1/audit), nobody else does."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Event
from newsletter.core.db.session import transaction
from newsletter.users import audit
from newsletter.users.audit import Actor, record_action
from tests.support.console import login
from tests.support.factories import PASSWORD, api_token, make_account


def _entries(**where) -> list[audit.Entry]:
    with transaction() as session:
        return audit.oldest(session, audit.Filter(**where))


def _raw_events() -> str:
    with transaction() as session:
        return str([e.data for e in session.scalars(select(Event).where(Event.kind == "audit"))])


def test_console_actions_are_recorded_with_actor_route_and_target(client, series):
    editor = make_account("editor")
    token = login(client, editor)
    client.post("/admin/series/labor/pause", data={"csrf_token": token})
    client.post("/admin/series/labor/resume", data={"csrf_token": token})
    client.post(
        "/admin/series/labor/reschedule", data={"csrf_token": token, "part": "2", "at": "soon"}
    )
    login_entry, pause, resume, bad = _entries()
    assert (login_entry.action, login_entry.actor_id, login_entry.auth) == (
        "login",
        editor.id,
        "session",
    )
    assert pause.action == "series.pause" and resume.action == "series.resume"
    assert pause.route == "POST /admin/series/{slug}/pause"
    assert pause.target == {"slug": "labor"} and pause.outcome == "ok" and pause.status == 303
    assert (pause.actor_id, pause.actor_role) == (editor.id, "editor")
    assert pause.credential_id == login_entry.credential_id  # the session it came through
    assert (bad.action, bad.outcome, bad.status) == ("series.reschedule", "refused", 400)


def test_operator_actions_and_refusals(client, series):
    operator = make_account("operator")
    token = login(client, operator)
    client.post("/admin/queue/retry", data={"csrf_token": token})
    client.post("/admin/queue/pause", data={"csrf_token": token})
    client.post("/admin/queue/resume", data={"csrf_token": token})
    client.post("/admin/series/labor/pause", data={"csrf_token": token})  # not an editor
    client.post("/admin/queue/pause")  # no CSRF token
    actions = [(e.action, e.outcome, e.status) for e in _entries(actor_id=operator.id)][1:]
    assert actions == [
        ("delivery.retry", "ok", 303),
        ("delivery.pause", "ok", 303),
        ("delivery.resume", "ok", 303),
        ("series.pause", "refused", 403),
        ("delivery.pause", "refused", 403),
    ]


def test_a_test_send_is_recorded_without_its_address(client, series, sink):
    token = login(client, make_account("editor"))
    page = client.post(
        "/admin/series/labor/test",
        data={"csrf_token": token, "number": "2", "email": "me@example.com"},
    )
    assert page.status_code == 200 and len(sink.messages) == 1
    (entry,) = _entries(action="series.send_test")
    assert entry.target == {"slug": "labor"} and entry.outcome == "ok"
    assert "me@example.com" not in _raw_events()


def test_api_actions_are_recorded_with_the_token(client, series, sent):
    operator = make_account("operator")
    token = api_token(operator)
    headers = {"authorization": f"Bearer {token}"}
    response = client.post(
        "/api/v1/subscribers",
        json={"email": "reader@example.com", "series": "labor"},
        headers=headers,
    )
    assert response.status_code == 202
    assert client.get("/api/v1/subscribers", headers=headers).status_code == 200  # an export
    assert client.get("/api/v1/stats", headers=headers).status_code == 200  # a plain read
    signup, export = _entries(actor_id=operator.id)
    assert (signup.action, signup.auth, signup.route) == (
        "api.subscribers.signup",
        "token",
        "POST /api/v1/subscribers",
    )
    assert export.action == "api.subscribers.list_subscribers"
    assert signup.credential_id is not None
    raw = _raw_events()
    assert token not in raw and "reader@example.com" not in raw


def test_requests_without_credentials_are_not_recorded(client, series):
    client.post("/admin/series/labor/pause")
    client.post("/api/v1/subscribers", json={"email": "x@example.com", "series": "labor"})
    client.post("/subscribe", data={"email": "y@example.com", "series": "labor"})
    assert _entries() == []


def test_account_administration_writes_one_rich_entry(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    token = login(client, boss)
    client.post(f"/admin/users/{editor.id}/disable", data={"csrf_token": token})
    client.post(f"/admin/users/{boss.id}/disable", data={"csrf_token": token})  # the last admin
    disable, refused = _entries(actor_id=boss.id)[1:]
    assert (disable.action, disable.target, disable.facts) == (
        "user.disable",
        {"user_id": editor.id},
        {"sessions_ended": 0},
    )
    assert (refused.action, refused.outcome, refused.status) == ("accounts.disable", "refused", 409)
    assert refused.target == {"user_id": str(boss.id)}


def test_the_audit_page_filters_and_pages(client, series, monkeypatch):
    monkeypatch.setattr("newsletter.web.routes.audit.PAGE", 2)
    boss = make_account("admin")
    editor = make_account("editor")
    token = login(client, editor)
    for _ in range(2):
        client.post("/admin/series/labor/pause", data={"csrf_token": token})
    login(client, boss)
    page = client.get("/admin/audit")
    assert page.status_code == 200 and "Older" in page.text
    assert page.text.count("<tr>") == 1 + 2  # header and two entries
    filtered = client.get(f"/admin/audit?actor={editor.id}&action=series.pause")
    assert filtered.text.count("series.pause") >= 2 and "POST /admin/series/{slug}/pause" in (
        filtered.text
    )
    older = filtered.text.split('href="/admin/audit?before=', 1)[1].split('"', 1)[0]
    last = client.get(f"/admin/audit?before={older}")
    assert last.status_code == 200 and "editor@example.com" in last.text
    assert client.get("/admin/audit?actor=abc").status_code == 400


def test_the_csv_export_is_neutralised_and_itself_recorded(client, series):
    boss = make_account("admin")
    with transaction() as session:
        record_action(session, Actor(boss.id, "admin", "session"), "series.pause", {"slug": "=1+1"})
    login(client, boss)
    response = client.get("/admin/audit/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == ["series.pause", "login"]
    assert rows[0]["target"] == '{"slug": "=1+1"}'
    assert rows[0]["at"].endswith("Z")
    (export,) = _entries(action="audit.audit_csv")
    assert (export.actor_id, export.outcome) == (boss.id, "ok")


def test_formula_cells_in_the_csv(series):
    with transaction() as session:
        record_action(session, Actor(None, "=cmd|' /C calc'!A0", "cli"), "x")
        text = audit.to_csv(audit.iter_all(session, audit.Filter()))
    assert "'=cmd" in text


@pytest.mark.parametrize("role", ["editor", "operator"])
def test_only_admins_read_the_trail(client, series, role):
    account = make_account(role)
    login(client, account)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403
    headers = {"authorization": f"Bearer {api_token(account)}"}
    assert client.get("/api/v1/audit", headers=headers).status_code == 403


def test_the_api_pages_the_trail_oldest_first(client, series):
    boss = make_account("admin")
    editor = make_account("editor")
    token = login(client, editor)
    for _ in range(3):
        client.post("/admin/series/labor/pause", data={"csrf_token": token})
    headers = {"authorization": f"Bearer {api_token(boss)}"}
    first = client.get("/api/v1/audit?limit=2&action=series.pause", headers=headers).json()
    assert [i["action"] for i in first["items"]] == ["series.pause"] * 2
    assert first["items"][0]["at"].endswith("Z") and first["next_after_id"]
    rest = client.get(
        f"/api/v1/audit?limit=2&action=series.pause&after_id={first['next_after_id']}",
        headers=headers,
    ).json()
    assert len(rest["items"]) == 1 and rest["next_after_id"] is None
    mine = client.get(f"/api/v1/audit?actor_id={editor.id}", headers=headers).json()
    assert {i["actor_id"] for i in mine["items"]} == {editor.id}
    later = client.get("/api/v1/audit?since=2999-01-01T00:00:00Z", headers=headers).json()
    assert later["items"] == []
    bad = client.get("/api/v1/audit?since=soon&actor_id=0", headers=headers)
    assert bad.status_code == 422
    reads = _entries(action="api.audit.audit_trail")
    assert len(reads) == 4 + 1  # every read is an export; the refused one too
    assert PASSWORD not in _raw_events()
