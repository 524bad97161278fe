"""The automatic brake without a worker: the verdict, the claim holding rows, the resume."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from newsletter.core.db.models import Delivery, DeliveryStatus, Issue
from newsletter.core.db.session import transaction
from newsletter.core.settings import Settings, get_settings, reset_settings
from newsletter.delivery import brakes
from newsletter.delivery.brakes import Figures, verdict
from newsletter.delivery.tick import run_tick
from tests.support.cli import fails, ok
from tests.support.factories import T0, add_subscribers, make_series


def test_verdict_waits_for_the_sample_then_compares_rates() -> None:
    settings = Settings(brake_min_sends=500, brake_bounce_rate=0.05, brake_complaint_rate=0.003)
    assert verdict(Figures(499, 400, 400), settings) is None  # too few to judge
    assert verdict(Figures(500, 25, 1), settings) is None  # exactly 5 %: not over
    assert verdict(Figures(500, 26, 0), settings) == "hard-bounce rate 5.2% (26 of 500) over 5.0%"
    assert verdict(Figures(1000, 0, 4), settings) == ("complaint rate 0.40% (4 of 1000) over 0.30%")
    assert verdict(Figures(100, 10, 0).minus({"attempted": 90, "hard": 10}), settings) is None


@pytest.fixture
def fanned_out(db: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """An issue to 20 readers, fanned out, with rows handed back to pending; its id."""
    monkeypatch.setenv("NEWSLETTER_BRAKE_MIN_SENDS", "10")
    reset_settings()
    with transaction() as session:
        add_subscribers(session, make_series(session), 20)
    run_tick(T0, enqueue=lambda ids: None)
    with transaction() as session:
        session.execute(update(Delivery).values(status="pending", lease_until=None))
        return session.scalars(select(Issue.id)).one()


def _settle(issue_id: int, sent: int, hard_bounced: int = 0, policy: int = 0) -> None:
    """Mark the first rows sent, bounced (5.1.1) and failed by a policy 5xx, in that order."""
    with transaction() as session:
        ids = list(
            session.scalars(
                select(Delivery.id).where(Delivery.issue_id == issue_id).order_by(Delivery.id)
            )
        )
        plan = [("sent", None)] * sent + [("bounced", "bounced: 550 5.1.1")] * hard_bounced
        plan += [("failed", "permanent: 554 5.7.1 blocked")] * policy
        for delivery_id, (status, error) in zip(ids, plan, strict=False):
            session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(status=status, last_error=error)
            )


def test_a_braked_issue_holds_its_rows_until_resumed(fanned_out) -> None:
    _settle(fanned_out, sent=8, hard_bounced=1, policy=1)  # 2 hard of 10: 20 %
    with transaction() as session:
        assert brakes.check(session, [fanned_out], get_settings()) == [fanned_out]
        assert brakes.check(session, [fanned_out], get_settings()) == []  # once
        (held,) = brakes.braked_issues(session)
    assert held.reason.startswith("hard-bounce rate 20.0% (2 of 10)")
    assert run_tick(T0, enqueue=lambda ids: None).claimed == 0
    with transaction() as session:
        counts = [d.status for d in session.scalars(select(Delivery))]
    assert counts.count("pending") == 10 and "failed" in counts  # held, not failed

    status = json.loads(ok("status", "--json"))
    assert status["braked"][0]["issue_id"] == fanned_out
    assert status["braked"][0]["reason"] == held.reason
    assert "Braked issues" in ok("status")

    assert "resumed" in ok("resume-issue", str(fanned_out))
    assert "not braked" in fails("resume-issue", str(fanned_out))
    assert run_tick(T0, enqueue=lambda ids: None).claimed == 10
    with transaction() as session:
        # Judged from the resume on: the old 20 % does not brake it again.
        assert brakes.check(session, [fanned_out], get_settings()) == []
        issue = session.get_one(Issue, fanned_out)
        assert issue.brake_baseline == {"attempted": 10, "hard": 2, "complaints": 0}


def test_transient_failures_and_skips_are_not_hard_bounces(fanned_out) -> None:
    with transaction() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.issue_id == fanned_out)
            .values(status=DeliveryStatus.FAILED, last_error="transient: 421 (after 5 attempts)")
        )
        assert brakes.figures(session, fanned_out) == Figures(0, 0, 0)
        assert brakes.check(session, [fanned_out], get_settings()) == []
