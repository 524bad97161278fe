"""The effects of inbound mail on both databases: once each, and never for a forged token."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import (
    Delivery,
    DeliveryStatus,
    Event,
    InboundMail,
    Issue,
    Series,
    Subscriber,
    Subscription,
)
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings, reset_settings
from newsletter.core.tokens import verp_token
from newsletter.inbound.apply import DROPPED, DUPLICATE, Unreadable, receive
from newsletter.mail.message import make_message_id
from tests.support.factories import make_series, make_subscriber
from tests.support.reports import arf, dsn, unsubscribe_mail

DOMAIN = "bounces.example.com"
READER = "ada@example.org"


@pytest.fixture
def sent_parts(db: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A reader of "labor" (3 parts) and "other", with parts 1-3 of "labor" sent to her;
    returns the delivery ids, oldest first."""
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", DOMAIN)
    reset_settings()
    with transaction() as session:
        series = make_series(session, "labor", 3)
        other = make_series(session, "other", 1)
        reader = make_subscriber(session, series, READER)
        session.add(Subscription(subscriber_id=reader.id, series_id=other.id, status="active"))
        ids = []
        for issue in series.issues:
            row = Delivery(issue_id=issue.id, subscriber_id=reader.id, status="sent", attempts=1)
            session.add(row)
            session.flush()
            row.message_id = make_message_id(row.id, "example.com")
            ids.append(row.id)
        return ids


def feed(raw: bytes, *rcpts: str) -> str:
    with transaction() as session:
        return receive(session, raw, list(rcpts), get_settings())


def bounce_address(delivery_id: int) -> str:
    return f"bounce+{verp_token('bounce', delivery_id)}@{DOMAIN}"


def reader() -> tuple[str, list[str]]:
    with transaction() as session:
        person = session.scalars(select(Subscriber)).one()
        return person.status, sorted(s.status for s in person.subscriptions)


def delivery_status(delivery_id: int) -> str:
    with transaction() as session:
        return session.get_one(Delivery, delivery_id).status


def events(kind: str) -> list[dict]:
    with transaction() as session:
        return [e.data for e in session.scalars(select(Event).where(Event.kind == kind))]


def test_a_hard_dsn_bounces_the_delivery_and_suppresses_once(sent_parts) -> None:
    raw = dsn(to=bounce_address(sent_parts[0]), recipient=READER, status="5.1.1")
    assert feed(raw, bounce_address(sent_parts[0])) == "hard"
    assert delivery_status(sent_parts[0]) == DeliveryStatus.BOUNCED
    assert reader() == ("bounced", ["stopped", "stopped"])
    assert feed(raw, bounce_address(sent_parts[0])) == DUPLICATE
    assert len(events("bounced")) == 1
    assert [e["outcome"] for e in events("inbound")] == ["hard"]


def test_forged_or_unsigned_tokens_do_nothing(sent_parts) -> None:
    real = verp_token("bounce", sent_parts[0])
    forged = f"bounce+{sent_parts[1]:x}.{real.rpartition('.')[2]}@{DOMAIN}"
    assert feed(dsn(to=forged, recipient=READER), forged) == "ignored"
    unsigned = f"bounce+{sent_parts[0]:x}@{DOMAIN}"
    assert feed(dsn(to=unsigned, recipient=READER), unsigned) == "ignored"
    # A forged token is not rescued by the fallback, even with a genuine Message-ID.
    mid = make_message_id(sent_parts[0], "example.com")
    raw = dsn(to=forged, recipient=READER, original_message_id=mid)
    assert feed(raw, forged) == "ignored"
    unsub = f"unsubscribe+{verp_token('bounce', 1)}@{DOMAIN}"  # a bounce token, wrong purpose
    assert feed(unsubscribe_mail(unsub), unsub) == "ignored"
    complaint = arf(return_path=forged, original_message_id=mid)
    assert feed(complaint, "fbl@" + DOMAIN) == "ignored"
    assert reader() == ("active", ["active", "active"])
    assert {delivery_status(i) for i in sent_parts} == {"sent"}


def test_a_rewritten_return_path_falls_back_to_message_id_and_recipient(sent_parts) -> None:
    mid = make_message_id(sent_parts[1], "example.com")
    rewritten = "srs0=abc=example.com@relay.example.net"
    wrong = dsn(to=rewritten, recipient="someone@else.org", original_message_id=mid)
    assert feed(wrong, rewritten) == "ignored"
    not_ours = dsn(to=rewritten, recipient=READER, original_message_id="<d2.ffff@example.com>")
    assert feed(not_ours, rewritten) == "ignored"
    assert feed(dsn(to=rewritten, recipient=READER, original_message_id=mid), rewritten) == "hard"
    assert delivery_status(sent_parts[1]) == DeliveryStatus.BOUNCED
    assert reader()[0] == "bounced"


def test_soft_bounces_in_a_row_suppress_and_a_success_breaks_the_run(sent_parts, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SOFT_BOUNCE_LIMIT", "2")
    reset_settings()
    first, second, third = (bounce_address(i) for i in sent_parts)

    def soft(address: str) -> str:
        return feed(dsn(to=address, recipient=READER, status="4.2.2"), address)

    assert soft(third) == "soft" and reader()[0] == "active"  # a run of one
    # Part 2 went out between them and has not soft-bounced: the run is still one long.
    assert soft(first) == "soft" and reader()[0] == "active"
    # Now parts 3, 2 and 1 all soft-bounced: a run of three, over the limit of two.
    assert soft(second) == "soft"
    assert reader()[0] == "bounced"
    assert {delivery_status(i) for i in sent_parts} == {"sent"}  # soft: nothing bounced


def test_a_success_dsn_resets_the_run(sent_parts, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_SOFT_BOUNCE_LIMIT", "2")
    reset_settings()
    second, third = bounce_address(sent_parts[1]), bounce_address(sent_parts[2])
    assert feed(dsn(to=second, recipient=READER, status="4.4.1"), second) == "soft"
    delivered = dsn(to=third, recipient=READER, status="2.0.0", action="delivered")
    assert feed(delivered, third) == "delivered"
    assert feed(dsn(to=third, recipient=READER, status="4.4.1"), third) == "soft"
    assert reader()[0] == "active"  # part 3 arrived in the end: the run is part 2 only


def test_a_complaint_unsubscribes_everywhere_and_counts_once(sent_parts) -> None:
    address = bounce_address(sent_parts[0])
    assert feed(arf(return_path=address), "fbl@" + DOMAIN) == "complaint"
    assert reader() == ("complained", ["stopped", "stopped"])
    # The same report again, and a second report about the same message.
    assert feed(arf(return_path=address), "fbl@" + DOMAIN) == "ignored"
    with transaction() as session:
        complaints = session.scalar(select(func.count()).where(InboundMail.outcome == "complaint"))
    assert complaints == 1 and len(events("complained")) == 1


def test_a_complaint_without_a_token_uses_our_message_id(sent_parts) -> None:
    mid = make_message_id(sent_parts[2], "example.com")
    assert feed(arf(original_message_id=mid), "fbl@" + DOMAIN) == "complaint"
    assert reader()[0] == "complained"


def test_a_mailto_unsubscribe_ends_that_subscription_only(sent_parts) -> None:
    with transaction() as session:
        reader_id = session.scalars(select(Subscriber.id)).one()
        labor = session.scalars(select(Series.id).where(Series.slug == "labor")).one()
    address = f"unsubscribe+{verp_token('unsubscribe', reader_id, labor)}@{DOMAIN}"
    raw = unsubscribe_mail(address)
    assert feed(raw, address) == "unsubscribe"
    assert feed(raw, address) == DUPLICATE
    assert reader() == ("active", ["active", "unsubscribed"])
    assert [e["via"] for e in events("unsubscribed")] == ["mailto"]


def test_anything_else_is_dropped_without_a_row(sent_parts, caplog) -> None:
    caplog.set_level("INFO", logger="newsletter.inbound")
    assert feed(unsubscribe_mail("letters@example.com"), "letters@example.com") == DROPPED
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 0
    assert "dropped" in caplog.text and "example" not in caplog.text
    with pytest.raises(Unreadable):
        feed(b"\r\n\r\n")


def test_complaints_brake_the_issue(sent_parts, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_BRAKE_MIN_SENDS", "1")
    reset_settings()
    assert feed(arf(return_path=bounce_address(sent_parts[0])), "fbl@" + DOMAIN) == "complaint"
    with transaction() as session:
        issue = session.get_one(Issue, session.get_one(Delivery, sent_parts[0]).issue_id)
        assert issue.braked_at is not None
        assert issue.brake_reason.startswith("complaint rate 100.00% (1 of 1)")
