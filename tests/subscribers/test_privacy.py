"""Export everything held on a person; erase it but keep anonymised delivery counts."""

import json

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import Delivery, Event, Issue, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import InvalidToken, NotFound
from newsletter.core.tokens import make_token
from newsletter.subscribers import service, suppression


@pytest.fixture
def person(series_id, sent) -> int:
    with transaction() as session:
        sid = service.signup(session, "Zoë@example.com", "Zoë", "labor").subscriber_id
    with transaction() as session:
        service.confirm(session, make_token("confirm", sid, series_id))
        issues = session.scalars(select(Issue).order_by(Issue.number)).all()
        for issue, status in zip(issues, ["sent", "bounced"], strict=False):
            session.add(
                Delivery(
                    issue_id=issue.id,
                    subscriber_id=sid,
                    status=status,
                    attempts=1,
                    last_error="550 <zoë@example.com> unknown" if status == "bounced" else None,
                )
            )
    return sid


def test_export_holds_everything_and_is_json(person) -> None:
    with transaction() as session:
        data = service.export(session, person)
    json.dumps(data)
    assert data["subscriber"]["email"] == "Zoë@example.com"
    assert data["subscriber"]["name"] == "Zoë"
    assert data["subscriber"]["status"] == "active"
    assert [s["series"] for s in data["subscriptions"]] == ["labor"]
    assert data["subscriptions"][0]["next_part"] == 1
    assert [e["kind"] for e in data["events"]] == ["signup", "confirmed"]
    assert [(d["part"], d["status"]) for d in data["deliveries"]] == [(1, "sent"), (2, "bounced")]


def test_erase_removes_personal_data_and_keeps_counts(person, series_id) -> None:
    with transaction() as session:
        assert service.erase(session, person) == 2
    with transaction() as session:
        row = session.get(Subscriber, person)
        assert (row.email, row.email_key, row.name, row.confirmed_at) == (None, None, "", None)
        assert row.erased_at is not None
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
        deliveries = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(d.status, d.last_error) for d in deliveries] == [
            ("sent", None),
            ("bounced", None),
        ]
        events = session.scalars(select(Event).order_by(Event.id)).all()
        assert [(e.kind, e.data) for e in events] == [
            ("signup", {}),
            ("confirmed", {}),
            ("erased", {"deliveries_kept": 2}),
        ]
    with transaction() as session:  # tokens for the erased id do nothing, never error
        assert not service.unsubscribe(session, make_token("unsubscribe", person)).changed
        assert not suppression.mark_bounced(session, person, "late bounce").changed
    with pytest.raises(InvalidToken), transaction() as session:
        service.confirm(session, make_token("confirm", person, series_id))
    with pytest.raises(NotFound), transaction() as session:
        service.export(session, person)
    with pytest.raises(NotFound), transaction() as session:
        service.erase(session, person)


def test_address_can_sign_up_again_after_erasure(person) -> None:
    with transaction() as session:
        service.erase(session, person)
    with transaction() as session:
        result = service.signup(session, "zoë@example.com", "", "labor")
    assert result.outcome == "created" and result.subscriber_id != person
