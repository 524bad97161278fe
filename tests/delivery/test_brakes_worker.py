"""Acceptance: a sink that refuses every 10th recipient brakes the issue mid-send; the rest
waits as pending, the dashboard says why, and a resume sends it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.models import Issue, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.delivery.tasks import tick_now
from newsletter.web.application import create_app
from tests.support.console import login
from tests.support.factories import make_account, setup_issue
from tests.support.ledger import all_final, ledger, settled, wait_until

pytestmark = pytest.mark.integration


def test_a_tenth_refused_brakes_the_issue_until_resumed(
    db, start_worker, sink, monkeypatch, cheap_password_hashing, private_celery_app
) -> None:
    monkeypatch.setenv("NEWSLETTER_BATCH_SIZE", "10")
    reset_settings()
    _, ids = setup_issue(100)
    with transaction() as session:
        emails = dict(session.execute(select(Subscriber.id, Subscriber.email)).all())
    sink.reject([emails[i] for n, i in enumerate(ids) if n % 10 == 9])  # 550 5.1.1, every 10th
    start_worker(brake_min_sends="20")
    assert tick_now(utcnow()).claimed == 100
    wait_until(settled, timeout=60)

    counts = ledger()
    with transaction() as session:
        issue = session.scalars(select(Issue).where(Issue.braked_at.is_not(None))).one()
        reason = issue.brake_reason
    # Judged after a batch, while the other worker process may be mid-batch: about 10 %.
    assert reason is not None and reason.startswith("hard-bounce rate ")
    assert reason.endswith(" over 5.0%")
    assert counts["pending"] >= 40 and counts["failed"] == 0  # held, not failed
    assert counts["sent"] + counts["bounced"] + counts["pending"] == 100
    assert tick_now(utcnow()).claimed == 0

    with TestClient(create_app(), base_url="http://testserver") as client:
        token = login(client, make_account("operator"))
        page = client.get("/admin/queue")
        assert "is braked:" in page.text and reason in page.text
        sink.clear()  # the operator cleaned the list
        client.post(f"/admin/queue/issues/{issue.id}/resume", data={"csrf_token": token})
    tick_now(utcnow())
    wait_until(all_final(100), timeout=60)
    after = ledger()
    assert after["sent"] + after["bounced"] == 100 and after["bounced"] == counts["bounced"]
