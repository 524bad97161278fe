"""Every subscriber transition, on both databases, with its audit event."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Event, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, InvalidToken, NotFound
from newsletter.core.tokens import ExpiredToken, make_token
from newsletter.subscribers import service, suppression
from newsletter.subscribers.addresses import InvalidAddress, InvalidName


def signup(email="Reader@Example.com", name="Reader", slug="labor"):
    with transaction() as session:
        return service.signup(session, email, name, slug)


def state(subscriber_id: int) -> tuple[str, list[str], list[str]]:
    with transaction() as session:
        sub = session.get(Subscriber, subscriber_id)
        events = session.scalars(
            select(Event.kind).where(Event.subscriber_id == subscriber_id).order_by(Event.id)
        ).all()
        return sub.status, [s.status for s in sub.subscriptions], list(events)


def test_signup_is_pending_and_mails_after_commit(series_id, sent) -> None:
    result = signup()
    assert result.outcome == "created" and result.mail_sent
    assert sent == [(result.subscriber_id, series_id)]
    assert state(result.subscriber_id) == ("pending", ["pending"], ["signup"])
    with transaction() as session:
        sub = session.get(Subscriber, result.subscriber_id)
        assert (sub.email, sub.email_key) == ("Reader@example.com", "reader@example.com")


def test_no_mail_when_the_transaction_rolls_back(series_id, sent) -> None:
    with pytest.raises(RuntimeError), transaction() as session:
        service.signup(session, "a@example.com", "", "labor")
        raise RuntimeError("boom")
    assert sent == []
    with transaction() as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_repeat_signup_of_pending_resends_rate_limited(series_id, sent, clock) -> None:
    first = signup()
    again = signup("READER@example.COM")
    assert (again.subscriber_id, again.outcome, again.mail_sent) == (
        first.subscriber_id,
        "rate_limited",
        False,
    )
    clock.advance(minutes=11)
    third = signup()
    assert (third.outcome, third.mail_sent) == ("resent", True)
    assert len(sent) == 2
    assert state(first.subscriber_id)[2] == ["signup", "confirmation_resent"]


def test_confirm_activates_and_is_idempotent(series_id, sent) -> None:
    result = signup()
    token = make_token("confirm", result.subscriber_id, series_id)
    with transaction() as session:
        assert service.confirm(session, token).changed
    with transaction() as session:
        assert not service.confirm(session, token).changed
    assert state(result.subscriber_id) == ("active", ["active"], ["signup", "confirmed"])
    assert signup().outcome == "already_active"
    assert len(sent) == 1


def test_confirm_in_serial_mode_makes_part_one_due_now(serial_id, sent, clock) -> None:
    result = signup(slug="serial-labor")
    with transaction() as session:
        service.confirm(session, make_token("confirm", result.subscriber_id, serial_id))
    with transaction() as session:
        sub = session.scalar(select(Subscription))
        assert (sub.status, sub.next_part, sub.next_due_at) == ("active", 1, clock.now)


def test_expired_and_foreign_confirm_tokens(series_id, sent, clock) -> None:
    result = signup()
    token = make_token("confirm", result.subscriber_id, series_id)
    clock.advance(days=8)
    with pytest.raises(ExpiredToken), transaction() as session:
        service.confirm(session, token)
    with pytest.raises(InvalidToken), transaction() as session:
        service.confirm(session, make_token("unsubscribe", result.subscriber_id, series_id))
    with pytest.raises(InvalidToken), transaction() as session:
        service.confirm(session, make_token("confirm", 999_999, series_id))
    assert state(result.subscriber_id)[0] == "pending"


def test_unsubscribe_is_idempotent_and_fresh_signup_restarts(series_id, sent, clock) -> None:
    result = signup()
    sid = result.subscriber_id
    with transaction() as session:
        service.confirm(session, make_token("confirm", sid, series_id))
    token = make_token("unsubscribe", sid, series_id)
    with transaction() as session:
        assert service.unsubscribe(session, token).changed
    with transaction() as session:
        assert not service.unsubscribe(session, token).changed  # already out: not an error
    assert state(sid) == ("unsubscribed", ["unsubscribed"], ["signup", "confirmed", "unsubscribed"])
    # A stale confirm link must not undo the unsubscribe.
    with transaction() as session:
        assert not service.confirm(session, make_token("confirm", sid, series_id)).changed
    clock.advance(minutes=11)
    again = signup()
    assert (again.outcome, again.mail_sent) == ("restarted", True)
    assert state(sid)[:2] == ("pending", ["pending"])
    assert len(sent) == 2


def test_unsubscribe_link_for_erased_person_is_done(series_id, sent) -> None:
    sid = signup().subscriber_id
    with transaction() as session:
        service.erase(session, sid)
    with transaction() as session:
        assert not service.unsubscribe(session, make_token("unsubscribe", sid, series_id)).changed


def test_second_series_needs_its_own_confirmation(series_id, serial_id, sent) -> None:
    sid = signup().subscriber_id
    with transaction() as session:
        service.confirm(session, make_token("confirm", sid, series_id))
    other = signup(slug="serial-labor")
    assert other.outcome == "pending_series" and other.mail_sent is False  # rate-limited
    assert state(sid)[:2] == ("active", ["active", "pending"])
    with transaction() as session:
        service.unsubscribe(session, make_token("unsubscribe", sid, series_id))
    assert state(sid)[0] == "active"  # still pending on the other series


@pytest.mark.parametrize(
    ("mark", "status"),
    [(suppression.mark_bounced, "bounced"), (suppression.mark_complained, "complained")],
)
def test_bounce_and_complaint_suppress(series_id, sent, mark, status) -> None:
    sid = signup().subscriber_id
    with transaction() as session:
        service.confirm(session, make_token("confirm", sid, series_id))
    with transaction() as session:
        assert mark(session, sid, "550 5.1.1 user unknown").changed
    with transaction() as session:
        assert not mark(session, sid, "again").changed
    assert state(sid) == (status, ["stopped"], ["signup", "confirmed", status])
    assert signup().outcome == "suppressed"
    with transaction() as session:
        event = session.scalar(select(Event).where(Event.kind == status))
        assert event.data == {"reason": "550 5.1.1 user unknown"}


def test_complaint_outranks_bounce(series_id, sent) -> None:
    sid = signup().subscriber_id
    with transaction() as session:
        suppression.mark_complained(session, sid, "fbl")
        suppression.mark_bounced(session, sid, "later bounce")
    assert state(sid)[0] == "complained"


def test_pause_and_resume_subscription(serial_id, sent, clock) -> None:
    sid = signup(slug="serial-labor").subscriber_id
    with transaction() as session:
        with pytest.raises(Conflict):
            service.pause_subscription(session, sid, serial_id)  # still pending
        service.confirm(session, make_token("confirm", sid, serial_id))
    with transaction() as session:
        assert service.pause_subscription(session, sid, serial_id).changed
        assert not service.pause_subscription(session, sid, serial_id).changed
    clock.advance(days=30)
    with transaction() as session:
        assert service.resume_subscription(session, sid, serial_id).changed
    with transaction() as session:
        sub = session.scalar(select(Subscription))
        assert (sub.status, sub.next_due_at) == ("active", clock.now)
    assert state(sid)[2] == ["signup", "confirmed", "paused", "resumed"]
    with pytest.raises(NotFound), transaction() as session:
        service.pause_subscription(session, sid, 424242)


def test_add_subscriber_confirmed_skips_mail(series_id, sent) -> None:
    with transaction() as session:
        result = service.add_subscriber(session, "op@example.com", "Op", "labor", confirmed=True)
    assert result.outcome == "added" and sent == []
    assert state(result.subscriber_id) == ("active", ["active"], ["added"])
    with transaction() as session:
        again = service.add_subscriber(session, "OP@example.com", "", "labor", confirmed=True)
    assert again.outcome == "already_active"


def test_add_confirmed_refuses_to_override_an_unsubscribe(series_id, sent) -> None:
    sid = signup().subscriber_id
    with transaction() as session:
        service.unsubscribe_subscriber(session, sid)
    with pytest.raises(Conflict), transaction() as session:
        service.add_subscriber(session, "reader@example.com", "", "labor", confirmed=True)


@pytest.mark.parametrize(
    ("email", "name", "slug", "error"),
    [
        ("bad", "", "labor", InvalidAddress),
        ("ok@example.com", "Eve\r\nBcc: x@example.com", "labor", InvalidName),
        ("ok@example.com", "", "no-such-series", NotFound),
    ],
)
def test_bad_signups_change_nothing(series_id, sent, email, name, slug, error) -> None:
    with pytest.raises(error), transaction() as session:
        service.signup(session, email, name, slug)
    assert sent == []
    with transaction() as session:
        assert session.scalars(select(Subscriber)).all() == []


def test_internationalised_addresses_are_unique_case_insensitively(series_id, sent) -> None:
    first = signup("用户@例子.广告", "")
    second = signup("JOSÉ@example.com", "")
    assert signup("josé@EXAMPLE.com", "").subscriber_id == second.subscriber_id
    assert first.subscriber_id != second.subscriber_id


def _events(subscriber_id: int) -> list[tuple[str, int | None, dict]]:
    with transaction() as session:
        rows = session.execute(
            select(Event.kind, Event.series_id, Event.data)
            .where(Event.subscriber_id == subscriber_id)
            .order_by(Event.id)
        ).all()
        return [tuple(row) for row in rows]


def test_signup_rows_and_events(series_id, serial_id, sent, clock) -> None:
    # The Core signup path writes exactly what the ORM one did: the pending rows, the
    # confirmation time, one event per change with its facts, and a mail after commit.
    first = signup(name="Ann")
    sid = first.subscriber_id
    with transaction() as session:
        person = session.get(Subscriber, sid)
        assert (person.email, person.email_key, person.name, person.source) == (
            "Reader@example.com",
            "reader@example.com",
            "Ann",
            "web",
        )
        assert person.created_at == person.confirmation_sent_at == clock.now
        assert person.confirmed_at is None
        (sub,) = person.subscriptions
        assert (sub.series_id, sub.status, sub.next_part, sub.next_due_at) == (
            series_id,
            "pending",
            1,
            None,
        )
    # Pending address, another series: a new pending subscription, mail rate-limited.
    other = signup(slug="serial-labor")
    assert (other.outcome, other.mail_sent) == ("resent", False)
    clock.advance(minutes=11)
    again = signup(slug="serial-labor")
    assert (again.outcome, again.mail_sent) == ("resent", True)
    assert sent == [(sid, series_id), (sid, serial_id)]
    with transaction() as session:
        assert session.get(Subscriber, sid).confirmation_sent_at == clock.now
    assert _events(sid) == [
        ("signup", series_id, {"source": "web"}),
        ("signup", serial_id, {"source": "web"}),
        ("confirmation_resent", serial_id, {"source": "web"}),
    ]


def test_restart_event_and_kept_name(series_id, sent, clock) -> None:
    sid = signup(name="Ann").subscriber_id
    with transaction() as session:
        service.unsubscribe_subscriber(session, sid)
    again = signup(name="")  # consent given again: its mail at once, even within the interval
    assert (again.outcome, again.mail_sent) == ("restarted", True)
    with transaction() as session:
        person = session.get(Subscriber, sid)
        assert (person.status, person.name, person.confirmed_at) == ("pending", "Ann", None)
    assert _events(sid)[-1] == ("signup", series_id, {"source": "web", "restart": True})
    assert len(sent) == 2


def test_signup_leaves_no_stale_objects_in_the_session(series_id, serial_id, sent) -> None:
    # signup writes with Core statements; ORM copies the caller already holds in the same
    # unit of work must show the new state afterwards, and pending ORM changes are seen.
    sid = signup().subscriber_id
    with transaction() as session:
        service.confirm(session, make_token("confirm", sid, series_id))
        service.unsubscribe_subscriber(session, sid)
    with transaction() as session:
        person = session.get(Subscriber, sid)
        assert [s.status for s in person.subscriptions] == ["unsubscribed"]
        person.name = "Changed"  # pending ORM change, not flushed yet
        result = service.signup(session, "reader@example.com", "", "serial-labor")
        assert result.outcome == "restarted"
        assert person.status == "pending" and person.confirmed_at is None
        assert person.name == "Changed"
        assert sorted(s.status for s in person.subscriptions) == ["pending", "unsubscribed"]
        result = service.signup(session, "reader@example.com", "", "labor")
        assert (result.outcome, result.mail_sent) == ("resent", False)
        assert sorted(s.status for s in person.subscriptions) == ["pending", "pending"]
