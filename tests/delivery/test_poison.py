"""Poison isolation in the send service, in-process on both databases (no broker).

A part that cannot render, or one message that cannot be built, fails only its own rows
with the real reason; the rest of the batch is delivered. Infrastructure failures still
end the task and leave the rows to their lease, as before.
"""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from newsletter.core.db.models import Delivery, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery import compose, send
from newsletter.delivery.poison import is_infrastructure, reason
from newsletter.delivery.queries import recent_failures
from newsletter.delivery.tasks import tick_now
from newsletter.delivery.tick import run_tick
from newsletter.users import service as users
from newsletter.users.models import User
from newsletter.web.application import create_app
from tests.support.factories import add_subscribers, make_series, poison
from tests.support.ledger import all_final, deliveries, ledger, wait_until
from tests.support.mail import by_recipient, recipients
from tests.support.smtp_sink import SmtpSink

HEALTHY, POISONED = 6, 3


@pytest.fixture(autouse=True)
def _fresh_render_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue ids restart per test; a part cached by an earlier test must not stand in."""
    monkeypatch.setattr(compose, "_RENDERED", {})


def setup(text: str) -> tuple[list[int], list[int]]:
    """A healthy and a poisoned series, both due now; returns their subscriber ids."""
    start = utcnow() - dt.timedelta(minutes=1)
    with transaction() as session:
        healthy = make_series(session, slug="healthy", start=start)
        bad = make_series(session, slug="bad", start=start)
        poison(session, bad.id, text)
        return (
            add_subscribers(session, healthy, HEALTHY, prefix="well"),
            add_subscribers(session, bad, POISONED, prefix="sick"),
        )


def one_batch() -> list[int]:
    (batch,) = run_tick(utcnow(), enqueue=lambda ids: None).batches
    return batch


def by_subscriber() -> dict[int, Delivery]:
    with transaction() as session:
        rows = deliveries(session)
        session.expunge_all()
    return {row.subscriber_id: row for row in rows}


def emails() -> dict[int, str]:
    with transaction() as session:
        return dict(session.execute(select(Subscriber.id, Subscriber.email)).all())


# PostgreSQL cannot store NUL in JSON, so that poison can only exist on SQLite.
@pytest.mark.parametrize(
    ("db", "text"),
    [("sqlite", "\x0b"), ("sqlite", "\x00"), ("postgresql", "\x0b")],
    ids=["sqlite-vertical-tab", "sqlite-nul", "postgresql-vertical-tab"],
    indirect=["db"],
)
def test_a_part_that_will_not_render_fails_alone(db, sink: SmtpSink, text: str) -> None:
    well, sick = setup(text)
    batch = one_batch()
    assert len(batch) == HEALTHY + POISONED  # one batch holds both series

    assert send.send_batch(batch) == {"sent": HEALTHY, "failed": POISONED}

    rows = by_subscriber()
    address = emails()
    assert set(recipients(sink.messages)) == {address[i] for i in well}
    assert all(rows[i].status == "sent" for i in well)
    for i in sick:
        assert rows[i].status == "failed" and rows[i].attempts == 1
        assert rows[i].last_error.startswith("render failed: ValueError: ")
        assert "@" not in rows[i].last_error and "\x00" not in rows[i].last_error
    # Nothing is left to a lease: a tick long after the lease sees nothing to release.
    later = run_tick(utcnow() + dt.timedelta(hours=1), enqueue=lambda ids: None)
    assert (later.released, later.expired_failed, later.claimed) == (0, 0, 0)
    with transaction() as session:
        failures = recent_failures(session)
    assert {f.subscriber_id for f in failures} == set(sick)
    assert all(f.reply.startswith("render failed") for f in failures)


@pytest.mark.integration
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)  # as in production
def test_a_real_worker_delivers_the_healthy_series_and_fails_the_poison(
    db, start_worker, sink: SmtpSink
) -> None:
    """One tick, one batch, one worker process: the poison no longer sinks the batch."""
    start = utcnow() - dt.timedelta(minutes=1)
    with transaction() as session:
        healthy = make_series(session, slug="healthy", start=start)
        bad = make_series(session, slug="bad", start=start)
        poison(session, bad.id, "\x0b")  # what the importer now refuses; the DB accepts it
        well = add_subscribers(session, healthy, 40, prefix="well")
        sick = add_subscribers(session, bad, 10, prefix="sick")
    start_worker()
    result = tick_now(utcnow())
    assert result.claimed == 50 and len(result.batches) == 1

    wait_until(all_final(50))
    assert ledger() == {"sent": 40, "failed": 10}
    address = emails()
    counts = recipients(sink.messages)
    assert set(counts) == {address[i] for i in well} and set(counts.values()) == {1}
    rows = by_subscriber()
    assert all(rows[i].attempts == 1 for i in well + sick)  # no lease ran out, no retry
    assert all(rows[i].last_error.startswith("render failed: ValueError: ") for i in sick)
    later = tick_now(utcnow() + dt.timedelta(hours=1))
    assert (later.released, later.claimed) == (0, 0)
    assert ledger() == {"sent": 40, "failed": 10}


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # the API reads one column on both
def test_the_reason_is_in_the_api(db, sink: SmtpSink, monkeypatch) -> None:
    _, sick = setup("\x0b")
    send.send_batch(one_batch())
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    with transaction() as session:
        user = users.create_user(session, "ops@example.com", "a long enough password", "operator")
        token = users.issue_token(session, session.get(User, user.id))
    with TestClient(create_app(), base_url="http://testserver") as client:
        page = client.get(
            "/api/v1/deliveries?status=failed", headers={"authorization": f"Bearer {token}"}
        )
    assert page.status_code == 200
    items = page.json()["items"]
    assert {item["subscriber_id"] for item in items} == set(sick)
    assert all(item["last_error"].startswith("render failed: ValueError") for item in items)


def test_a_marker_lookalike_is_no_longer_poison(db, sink: SmtpSink) -> None:
    well, sick = setup("zzNLslot_unsubscribe_url_tolsLNzz zzNLslot_nope_tolsLNzz ")
    assert send.send_batch(one_batch()) == {"sent": HEALTHY + POISONED}
    received = by_recipient(sink.messages)
    body = received[emails()[sick[0]]].get_body(("plain",)).get_content()
    body = " ".join(body.split())  # unwrapped
    assert "Part 1 opens zzNLslot_unsubscribe_url_tolsLNzz zzNLslot_nope_tolsLNzz here." in body
    assert body.count("/unsubscribe/") == 1  # the footer's link, not the essay's


def test_a_message_that_will_not_build_fails_alone(db, sink: SmtpSink, monkeypatch) -> None:
    well, sick = setup("")
    unlucky = well[2]
    real = send.compose

    def compose_or_raise(identity, issue, to):
        if to.subscriber_id == unlucky:
            raise RuntimeError(f"cannot build for {to.name} <{to.email}>")
        return real(identity, issue, to)

    monkeypatch.setattr(send, "compose", compose_or_raise)
    assert send.send_batch(one_batch()) == {"sent": HEALTHY + POISONED - 1, "failed": 1}
    row = by_subscriber()[unlucky]
    assert row.status == "failed"
    assert (
        row.last_error == "build failed: RuntimeError: cannot build for [recipient] <[recipient]>"
    )
    assert emails()[unlucky] not in recipients(sink.messages)


def test_database_trouble_while_rendering_is_not_poison(db, sink: SmtpSink, monkeypatch) -> None:
    setup("")

    def database_down(*args):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("server closed"))

    monkeypatch.setattr(send, "rendered_issue", database_down)
    batch = one_batch()
    with pytest.raises(OperationalError):
        send.send_batch(batch)
    assert {row.status for row in by_subscriber().values()} == {"sending"}
    later = run_tick(utcnow() + dt.timedelta(hours=1), enqueue=lambda ids: None)
    assert later.released == len(batch) and later.expired_failed == 0  # back, to be retried


def test_unreadable_dkim_key_while_building_is_not_poison(db, sink: SmtpSink, monkeypatch) -> None:
    setup("")
    calls = []

    def compose_then_fail(identity, issue, to):
        calls.append(to.delivery_id)
        if len(calls) == 3:
            raise PermissionError(13, "Permission denied")
        return compose.compose(identity, issue, to)

    monkeypatch.setattr(send, "compose", compose_then_fail)
    with pytest.raises(PermissionError):
        send.send_batch(one_batch())
    statuses = [row.status for row in by_subscriber().values()]
    assert statuses.count("sent") == 2 and statuses.count("failed") == 0
    assert statuses.count("sending") == HEALTHY + POISONED - 2  # left to their lease


def test_infrastructure_is_told_apart_from_poison() -> None:
    for exc in (
        OperationalError("x", {}, Exception()),
        ConnectionRefusedError(),
        TimeoutError(),
        FileNotFoundError(),
        MemoryError(),
        KeyboardInterrupt(),
    ):
        assert is_infrastructure(exc), exc
    for exc in (
        ValueError("mjml"),
        KeyError("foo"),
        TypeError(),
        UnicodeEncodeError("utf-8", "", 0, 1, "x"),
    ):
        assert not is_infrastructure(exc), exc


def test_a_reason_is_one_short_line_without_addresses_or_controls() -> None:
    exc = ValueError("bad\x00 byte for Zoë Q <zoë@exämple.org>\nand ana@example.com " + "x" * 400)
    text = reason("build", exc, hide=["Zoë Q", ""])
    assert text.startswith("build failed: ValueError: badU+0000 byte for [recipient] <[address]>")
    assert "ana@example.com" not in text and "\n" not in text
    assert len(text) < 250 and text.endswith("…")
    assert reason("render", KeyError()) == "render failed: KeyError"
