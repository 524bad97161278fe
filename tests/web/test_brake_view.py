"""A braked issue on the operator console and in /metrics, and its resume button."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from newsletter.core.db.models import Issue, Series, utcnow
from newsletter.core.db.session import transaction
from tests.support.console import login
from tests.support.factories import make_account

REASON = "hard-bounce rate 10.0% (3 of 30) over 5.0%"


def _brake() -> int:
    with transaction() as session:
        issue = session.query(Series).one().issues[1]
        session.execute(
            update(Issue)
            .where(Issue.id == issue.id)
            .values(braked_at=utcnow(), brake_reason=REASON)
        )
        return issue.id


def test_the_dashboard_says_why_and_resumes(client, series) -> None:
    issue_id = _brake()
    token = login(client, make_account("operator"))
    page = client.get("/admin/queue")
    assert "labor · part 2 is braked:" in page.text and REASON in page.text
    assert f'action="/admin/queue/issues/{issue_id}/resume"' in page.text
    page = client.post(f"/admin/queue/issues/{issue_id}/resume", data={"csrf_token": token})
    assert "brake is off" in page.text and REASON not in page.text
    with transaction() as session:
        assert session.get_one(Issue, issue_id).braked_at is None


def test_resume_needs_the_csrf_token_and_an_operator(client, series) -> None:
    issue_id = _brake()
    login(client, make_account("editor"))
    response = client.post(f"/admin/queue/issues/{issue_id}/resume", data={})
    assert 400 <= response.status_code < 500
    with transaction() as session:
        assert session.get_one(Issue, issue_id).braked_at is not None


def test_metrics_name_the_braked_issue(client, series, scrape) -> None:
    _brake()
    text = scrape(client)
    samples = [
        s for f in text_string_to_metric_families(text) for s in f.samples
        if s.name == "newsletter_issue_braked"
    ]  # fmt: skip
    assert [(s.labels, s.value) for s in samples] == [
        ({"series": "labor", "issue": "2", "reason": REASON}, 1.0)
    ]
