"""One-off mail (the confirmation outbox) in the operator's web views: dashboard and /metrics."""

from __future__ import annotations

from newsletter.core.db.models import Mail, MailStatus, Series, utcnow
from newsletter.core.db.session import transaction
from tests.support.console import login
from tests.support.factories import make_account, make_subscriber
from tests.support.metrics import samples


def _outbox() -> None:
    """Two confirmations waiting (one after a 421), one sent, one failed for good."""
    with transaction() as session:
        series = session.query(Series).one()
        rows = [
            (MailStatus.PENDING, None),
            (MailStatus.PENDING, "transient: 421 4.7.0 Try again later"),
            (MailStatus.SENT, None),
            (MailStatus.FAILED, "bounced: 550 5.1.1 User unknown"),
        ]
        for i, (status, error) in enumerate(rows):
            reader = make_subscriber(session, series, f"r{i}@example.com")
            session.add(
                Mail(
                    kind="confirmation",
                    subscriber_id=reader.id,
                    series_id=series.id,
                    status=status,
                    attempts=1 if error else 0,
                    last_error=error,
                    next_attempt_at=utcnow(),
                )
            )


def test_the_dashboard_shows_confirmations_waiting_and_failing(client, series):
    _outbox()
    login(client, make_account("operator"))
    page = client.get("/admin/queue")
    assert page.status_code == 200
    assert "Confirmations and other one-off mail" in page.text
    assert '<div class="value">2</div><div class="label">confirmation waiting</div>' in page.text
    assert "421 4.7.0 Try again later" in page.text and "550 5.1.1 User unknown" in page.text
    assert "r1@example.com" not in page.text  # ids, never addresses


def test_metrics_count_the_outbox_by_kind_and_status(client, series, scrape):
    _outbox()
    found = samples(scrape(client))
    confirmation = ("kind", "confirmation")
    assert found[("newsletter_outbox", (confirmation, ("status", "pending")))] == 2
    assert found[("newsletter_outbox", (confirmation, ("status", "sent")))] == 1
    assert found[("newsletter_outbox", (confirmation, ("status", "failed")))] == 1
    assert found[("newsletter_outbox", (confirmation, ("status", "queued")))] == 0
