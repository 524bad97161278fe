"""The `mail` outbox in one process, on both databases: rows, claims, retries, pause, view.

The worker's code (`delivery.oneoff.send_mail`) runs in the test process against the SMTP
sink; the wake-up after a signup is recorded instead of published, so each test decides
when a "worker" looks. tests/delivery/test_outbox_worker.py does the same with real
processes.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from newsletter.cli import app as cli
from newsletter.core.db.models import Mail, Series, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict
from newsletter.core.settings import reset_settings
from newsletter.delivery import control, monitor, oneoff, testsend
from newsletter.delivery.tick import run_tick
from newsletter.render import render_issue
from newsletter.scheduling.series import series_content
from newsletter.subscribers import service, tasks
from tests.support.factories import make_series

HOUR = dt.timedelta(hours=1)


class Recorder(list):
    """Stands in for a publisher: remembers each list of ids."""

    def __call__(self, ids: list[int]) -> bool:
        self.append(list(ids))
        return True


@pytest.fixture
def woken(db: str, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """A series `letters`; wake-ups after commit are recorded, not sent."""
    with transaction() as session:
        make_series(session)
    recorder = Recorder()
    monkeypatch.setattr(tasks, "wake", recorder)
    return recorder


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSLETTER_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("NEWSLETTER_RETRY_BASE_SECONDS", "60")
    reset_settings()


def sign_up(address: str = "reader@example.org") -> tuple[int, int]:
    """(subscriber id, outbox row id) of a new signup."""
    with transaction() as session:
        result = service.signup(session, address, "Reader", "letters")
        mail_id = session.scalars(
            select(Mail.id).where(Mail.subscriber_id == result.subscriber_id)
        ).all()[-1]
    return result.subscriber_id, mail_id


def row(mail_id: int) -> Mail:
    with transaction() as session:
        return session.get(Mail, mail_id)


def tick(now: dt.datetime) -> list[list[int]]:
    """A tick at `now`; the one-off batches it published."""
    published = Recorder()
    run_tick(now, enqueue=Recorder(), mail=published)
    return list(published)


def test_signup_writes_the_row_before_waking_anyone(woken, sink) -> None:
    sid, mail_id = sign_up()
    assert woken == [[mail_id]]  # after commit, with the row's id only
    pending = row(mail_id)
    assert (pending.kind, pending.status, pending.subscriber_id) == ("confirmation", "pending", sid)
    assert oneoff.send_mail([mail_id]) == {"sent": 1}
    sent = row(mail_id)
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    (message,) = sink.messages
    parsed = email.message_from_bytes(message[2], policy=email.policy.default)
    assert parsed["Message-ID"] == sent.message_id  # stored with the claim, before the send
    assert "/confirm/" in parsed.get_body(("plain",)).get_content()
    assert oneoff.send_mail([mail_id]) == {}  # a repeated message finds nothing to do
    assert tick(utcnow() + HOUR) == [] and sink.received == 1


def test_a_421_backs_off_keeps_its_message_id_and_the_tick_retries(woken, sink, retries) -> None:
    _, mail_id = sign_up()
    sink.fail_transient_for(count=1)
    before = utcnow()
    assert oneoff.send_mail([mail_id]) == {"retry": 1}
    waiting = row(mail_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert "421" in waiting.last_error
    # Jittered backoff around the 60 s base; the stale wake-up does not jump the queue.
    assert before + dt.timedelta(seconds=29) < waiting.next_attempt_at
    assert waiting.next_attempt_at < utcnow() + dt.timedelta(seconds=91)
    assert oneoff.send_mail([mail_id]) == {}
    assert tick(utcnow()) == []
    assert tick(utcnow() + HOUR) == [[mail_id]]
    assert row(mail_id).status == "queued"
    assert oneoff.send_mail([mail_id]) == {"sent": 1}
    done = row(mail_id)
    assert (done.status, done.attempts, done.message_id) == ("sent", 2, waiting.message_id)
    assert sink.received == 1 and sink.refused == 1


def test_out_of_attempts_it_fails_and_a_new_signup_mails_at_once(woken, sink, retries) -> None:
    sid, mail_id = sign_up()
    sink.fail_transient_for(seconds=60, reply="451 4.3.0 Try later")
    now = utcnow()
    assert oneoff.send_mail([mail_id]) == {"retry": 1}
    for attempt in (2, 3):
        now += HOUR
        assert tick(now) == [[mail_id]]
        assert oneoff.send_mail([mail_id]) == ({"retry": 1} if attempt < 3 else {"failed": 1})
    failed = row(mail_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert "451 4.3.0 Try later" in failed.last_error and "after 3 attempts" in failed.last_error
    # The person asks again at once: no mail ever reached them, so no 10-minute wait.
    sink.clear()
    again, second = sign_up()
    assert again == sid and second != mail_id and woken[-1] == [second]
    assert oneoff.send_mail([second]) == {"sent": 1}
    # A third click right after the mail went out is the rate limit's business.
    with transaction() as session:
        assert service.signup(session, "reader@example.org", "", "letters").outcome == (
            "rate_limited"
        )


def test_an_unknown_mailbox_fails_the_row_and_suppresses_the_address(woken, sink) -> None:
    sid, mail_id = sign_up("nobody@example.org")
    sink.reject(["nobody@example.org"])
    assert oneoff.send_mail([mail_id]) == {"bounced": 1}
    failed = row(mail_id)
    assert failed.status == "failed" and "5.1.1" in failed.last_error
    with transaction() as session:
        person = session.get(Subscriber, sid)
        assert person.status == "bounced"
        assert [s.status for s in person.subscriptions] == ["stopped"]
        # A suppressed address is never mailed again, whatever the form says.
        assert service.signup(session, "nobody@example.org", "", "letters").outcome == (
            "suppressed"
        )
    assert len(woken) == 1


def test_someone_who_left_before_the_send_is_skipped(woken, sink) -> None:
    sid, mail_id = sign_up()
    with transaction() as session:
        service.unsubscribe_subscriber(session, sid)
    assert oneoff.send_mail([mail_id]) == {"skipped": 1}
    skipped = row(mail_id)
    assert skipped.status == "skipped" and f"subscriber {sid} is unsubscribed" in skipped.last_error
    assert sink.received == 0


def test_a_row_claimed_by_a_tick_and_a_signup_wakeup_is_sent_once(woken, sink) -> None:
    _, mail_id = sign_up()
    assert tick(utcnow()) == [[mail_id]]  # the tick got there first: queued
    assert oneoff.send_mail([mail_id]) == {"sent": 1}  # the signup's wake-up
    assert oneoff.send_mail([mail_id]) == {}  # the tick's message
    assert sink.received == 1


def test_the_global_pause_holds_confirmations(woken, sink) -> None:
    _, first = sign_up("one@example.org")
    _, second = sign_up("two@example.org")
    assert tick(utcnow()) == [[first, second]]  # queued before the pause
    with transaction() as session:
        control.set_paused(session, True)
    _, third = sign_up("three@example.org")
    assert oneoff.send_mail([third]) == {}  # the wake-up finds sending paused
    assert oneoff.send_mail([first, second]) == {"released": 2}  # handed back untouched
    assert tick(utcnow() + HOUR) == []
    assert {row(i).status for i in (first, second, third)} == {"pending"}
    assert {row(i).attempts for i in (first, second, third)} == {0}
    with transaction() as session:
        control.set_paused(session, False)
    (batch,) = tick(utcnow())
    assert batch == [first, second, third]
    assert oneoff.send_mail(batch) == {"sent": 3}
    assert sink.received == 3


def test_an_expired_lease_comes_back_then_fails_when_attempts_are_used(woken, sink) -> None:
    _, mail_id = sign_up()
    assert tick(utcnow()) == [[mail_id]]  # queued; its message is lost
    later = utcnow() + dt.timedelta(hours=2)
    assert tick(later) == [[mail_id]]  # released and claimed again
    with transaction() as session:
        session.execute(update(Mail).where(Mail.id == mail_id).values(status="sending", attempts=5))
    result = run_tick(later + dt.timedelta(hours=2), enqueue=Recorder(), mail=Recorder())
    assert (result.mail_released, result.mail_expired_failed) == (0, 1)
    assert row(mail_id).status == "failed" and "worker lost" in row(mail_id).last_error


def test_the_operator_sees_waiting_and_failing_confirmations(woken, sink, retries) -> None:
    _, refused = sign_up("one@example.org")
    _, waiting = sign_up("two@example.org")
    sink.fail_transient_for(count=1)
    oneoff.send_mail([refused])
    with transaction() as session:
        view = monitor.operator_view(session, broker=False)
    assert view.mail["confirmation"]["pending"] == 2 and view.mail_waiting == {"confirmation": 2}
    (trouble,) = view.mail_troubles
    assert (trouble.mail_id, trouble.status, trouble.attempts) == (refused, "pending", 1)
    assert "421" in trouble.reply and trouble.next_attempt_at is not None

    result = CliRunner().invoke(cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["mail_waiting"] == {"confirmation": 2}
    assert data["mail_troubles"][0]["mail_id"] == refused
    assert "421" in data["mail_troubles"][0]["reply"]
    table = CliRunner().invoke(cli, ["status"], env={"COLUMNS": "200"})
    assert "One-off mail" in table.output and "421" in table.output
    assert waiting != refused


def test_an_erased_person_is_skipped_and_the_row_keeps_no_address(woken, sink) -> None:
    sid, mail_id = sign_up("erase.me@example.org")
    with transaction() as session:
        service.erase(session, sid)
    assert oneoff.send_mail([mail_id]) == {"skipped": 1}
    with transaction() as session:
        values = [str(v) for v in session.execute(select(Mail)).scalar_one().__dict__.values()]
        assert not any("erase.me" in value for value in values)


def test_the_console_test_send_is_refused_while_paused(woken, sink) -> None:
    with transaction() as session:
        content = series_content(session, session.scalar(select(Series.id)))
        control.set_paused(session, True)
    rendered = render_issue(content, 1)
    with pytest.raises(Conflict, match="sending is paused"):
        testsend.send_test(rendered, "letters", 1, "editor@example.org")
    with transaction() as session:
        control.set_paused(session, False)
    testsend.send_test(rendered, "letters", 1, "editor@example.org")
    assert sink.received == 1
