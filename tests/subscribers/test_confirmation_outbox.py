"""Confirmations as outbox rows, from the subscribers side, on both databases.

Signup and import write the row in their own transaction and only then wake a worker; a
broker that is down costs the caller nothing. A repeat signup reads what became of the last
row (`lifecycle.confirmation_due`). The worker side is tests/delivery/test_outbox*.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from newsletter.core import celery_app
from newsletter.core.db.models import Mail, Series, Subscriber, utcnow
from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import reset_settings
from newsletter.subscribers import importer, service, tasks

ADDRESS = "Reader@Example.org"
LONG_AGO = dt.timedelta(minutes=11)


@pytest.fixture
def series_id(db: str) -> int:
    """A series `letters`."""
    with transaction() as session:
        series = Series(
            slug="letters",
            title="Letters",
            mode="broadcast",
            cadence="weekly",
            timezone="UTC",
            start_at=dt.datetime(2030, 1, 1),
        )
        session.add(series)
        session.flush()
        return series.id


@pytest.fixture
def woken(series_id: int, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """Wake-ups after commit, recorded instead of published."""
    calls: list[list[int]] = []
    monkeypatch.setattr(tasks, "wake", lambda ids: calls.append(list(ids)) or True)
    return calls


def sign_up(address: str = ADDRESS) -> service.SignupResult:
    with transaction() as session:
        return service.signup(session, address, "Reader", "letters")


def rows() -> list[tuple[int, str]]:
    with transaction() as session:
        return [tuple(r) for r in session.execute(select(Mail.id, Mail.status).order_by(Mail.id))]


def settle(status: str, ago: dt.timedelta = dt.timedelta(0)) -> None:
    """What a worker would have done with every open row, `ago` ago."""
    with transaction() as session:
        session.execute(
            update(Mail)
            .where(Mail.status == "pending")
            .values(status=status, sent_at=utcnow() - ago if status == "sent" else None)
        )


def test_a_new_address_is_four_inserts_and_a_wakeup_after_commit(woken) -> None:
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2].split()[0].upper())  # noqa: E731
    event.listen(get_engine(), "before_cursor_execute", listener)
    try:
        with transaction() as session:
            result = service.signup(session, ADDRESS, "Reader", "letters")
            assert woken == []  # nothing before commit
    finally:
        event.remove(get_engine(), "before_cursor_execute", listener)
    work = [s for s in statements if s not in ("BEGIN", "COMMIT")]
    assert work == ["SELECT", "INSERT", "INSERT", "INSERT", "INSERT"]
    ((mail_id, status),) = rows()
    assert woken == [[mail_id]] and status == "pending" and result.mail_sent


def test_a_rolled_back_signup_leaves_no_row_and_wakes_nobody(woken) -> None:
    with pytest.raises(RuntimeError), transaction() as session:
        service.signup(session, ADDRESS, "", "letters")
        raise RuntimeError("boom")
    assert rows() == [] and woken == []


def test_while_a_confirmation_is_on_its_way_a_repeat_adds_none(woken) -> None:
    first = sign_up()
    with transaction() as session:  # however long it has been waiting (an SMTP outage)
        session.execute(update(Mail).values(created_at=utcnow() - dt.timedelta(hours=3)))
        session.execute(
            update(Subscriber).values(confirmation_sent_at=utcnow() - dt.timedelta(hours=3))
        )
    for status in ("pending", "queued", "sending"):
        with transaction() as session:
            session.execute(update(Mail).values(status=status))
        again = sign_up(ADDRESS.upper())
        assert (again.subscriber_id, again.outcome, again.mail_sent) == (
            first.subscriber_id,
            "rate_limited",
            False,
        )
    assert len(rows()) == 1 and len(woken) == 1


@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_when_the_last_one_never_arrived_a_repeat_mails_at_once(woken, status) -> None:
    sign_up()
    settle(status)
    again = sign_up()
    assert (again.outcome, again.mail_sent) == ("resent", True)
    assert [s for _, s in rows()] == [status, "pending"] and len(woken) == 2


def test_a_sent_one_holds_repeats_for_ten_minutes_from_when_it_went_out(woken) -> None:
    sign_up()
    settle("sent", ago=dt.timedelta(minutes=9))
    assert sign_up().outcome == "rate_limited"
    with transaction() as session:
        session.execute(update(Mail).values(sent_at=utcnow() - LONG_AGO))
    assert (sign_up().outcome, len(rows()), len(woken)) == ("resent", 2, 2)


def test_after_an_unsubscribe_the_mail_comes_at_once(woken) -> None:
    sid = sign_up().subscriber_id
    settle("sent")  # a minute ago, say
    with transaction() as session:
        service.unsubscribe_subscriber(session, sid)
    again = sign_up()
    assert (again.outcome, again.mail_sent, len(woken)) == ("restarted", True, 2)


def test_an_import_queues_its_rows_with_the_people_or_not_at_all(woken, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("email\na@example.org\nb@example.org\n", encoding="utf-8")
    with pytest.raises(RuntimeError), transaction() as session:
        importer.import_csv(session, path, "letters")
        raise RuntimeError("Ctrl-C")
    assert rows() == [] and woken == []
    with transaction() as session:
        report = importer.import_csv(session, path, "letters")
    assert report.mails_queued == 2 and woken == [report.mail_ids]
    assert [s for _, s in rows()] == ["pending", "pending"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_wakeup_with_the_broker_down_is_quick_quiet_and_names_no_one(
    series_id, monkeypatch, caplog
) -> None:
    """No eager mode here: a real publish to a port nobody listens on."""
    celery_app.app.conf.task_always_eager = False  # the autouse fixture leaves it so, too
    monkeypatch.setenv("NEWSLETTER_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")
    reset_settings()
    celery_app.reconfigure()
    try:
        started = time.monotonic()
        with caplog.at_level(logging.INFO):
            result = sign_up()  # the wake-up fails after commit; nothing is raised
        assert time.monotonic() - started < 1.0
        assert result.mail_sent and [s for _, s in rows()] == ["pending"]
        assert "the tick will send it" in caplog.text
        assert "reader@" not in caplog.text.lower()
    finally:
        monkeypatch.delenv("NEWSLETTER_BROKER_URL")
        reset_settings()
        celery_app.reconfigure()


def test_a_message_from_before_the_outbox_becomes_a_row(series_id, woken) -> None:
    sid = sign_up().subscriber_id
    settle("failed")
    mail_id = tasks.send_confirmation(sid, series_id)
    assert rows()[-1] == (mail_id, "pending") and woken[-1] == [mail_id]
    assert tasks.send_confirmation(999_999, series_id) is None  # nobody left to mail
