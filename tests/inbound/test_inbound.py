"""Acceptance: an issue sent by a real worker, then bounces, complaints and unsubscribes read
back by `newsletter inbound`, over SMTP (its own aiosmtpd server) and through `--stdin`."""

from __future__ import annotations

import os
import smtplib
import subprocess
from email.message import Message

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import Delivery, InboundMail, Subscriber, utcnow
from newsletter.core.db.session import transaction
from newsletter.core.settings import PROJECT_ROOT
from newsletter.core.tokens import read_verp
from newsletter.delivery.tasks import tick_now
from tests.inbound.conftest import DOMAIN
from tests.support.factories import setup_issue
from tests.support.ledger import all_final, wait_until
from tests.support.mail import parse
from tests.support.processes import console_script, free_port
from tests.support.reports import arf, dsn, unsubscribe_mail

pytestmark = pytest.mark.integration


class Sent:
    """What one reader got: the envelope sender, the message, the mailto."""

    def __init__(self, mail_from: str, msg: Message) -> None:
        self.bounce = mail_from
        self.msg = msg
        targets = str(msg["List-Unsubscribe"]).replace("\r\n", "").split(",")
        mailto = next(t for t in targets if "mailto:" in t)
        self.unsubscribe = mailto.strip(" <>").removeprefix("mailto:").partition("?")[0]


def send_issue(start_worker, sink, count: int = 8) -> dict[str, Sent]:
    """An issue to `count` readers, through a real worker; address → what arrived."""
    setup_issue(count)
    start_worker()
    tick_now(utcnow())
    assert sink.wait_for(count, timeout=60)
    wait_until(all_final(count))
    return {rcpts[0]: Sent(mail_from, parse(data)) for mail_from, rcpts, data in sink.messages}


def status(address: str) -> str:
    with transaction() as session:
        return session.scalars(select(Subscriber.status).where(Subscriber.email == address)).one()


def subscriptions(address: str) -> list[str]:
    with transaction() as session:
        person = session.scalars(select(Subscriber).where(Subscriber.email == address)).one()
        return [s.status for s in person.subscriptions]


def delivery_of(address: str) -> str:
    with transaction() as session:
        return session.scalars(
            select(Delivery.status).join(Subscriber).where(Subscriber.email == address)
        ).one()


def inbound_rows() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(InboundMail)) or 0


def smtp_send(port: int, rcpt: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail("mailer-daemon@mx.example.net", [rcpt], raw)


def pipe(raw: bytes, *rcpts: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [console_script("newsletter"), "inbound", "--stdin"]
    for rcpt in rcpts:
        argv += ["--recipient", rcpt]
    return subprocess.run(
        argv, input=raw, capture_output=True, cwd=PROJECT_ROOT, env=env, timeout=60
    )


def test_the_return_path_and_mailto_are_signed_per_delivery(db, bounce_domain, start_worker, sink):
    sent = send_issue(start_worker, sink, 3)
    with transaction() as session:
        ids = dict(session.execute(select(Subscriber.email, Subscriber.id)).all())
        deliveries = dict(session.execute(select(Delivery.subscriber_id, Delivery.id)).all())
    for address, got in sent.items():
        local, _, domain = got.bounce.partition("@")
        assert domain == DOMAIN and len(local) <= 64
        assert read_verp(local.removeprefix("bounce+"), "bounce") == (deliveries[ids[address]],)
        assert got.unsubscribe.startswith("unsubscribe+") and got.unsubscribe.endswith(DOMAIN)


def test_reports_over_smtp_take_effect_once(db, bounce_domain, start_worker, sink, inbound_server):
    sent = send_issue(start_worker, sink)
    hard, soft, complainer, leaver, forged, *_ = sorted(sent)
    port = inbound_server()

    bounce = dsn(to=sent[hard].bounce, recipient=hard, status="5.1.1")
    for _ in range(2):
        smtp_send(port, sent[hard].bounce, bounce)
    soft_dsn = dsn(to=sent[soft].bounce, recipient=soft, status="4.2.2")
    for _ in range(2):
        smtp_send(port, sent[soft].bounce, soft_dsn)
    complaint = arf(to=f"fbl@{DOMAIN}", return_path=sent[complainer].bounce)
    for _ in range(2):
        smtp_send(port, f"fbl@{DOMAIN}", complaint)
    leave = unsubscribe_mail(sent[leaver].unsubscribe)
    for _ in range(2):
        smtp_send(port, sent[leaver].unsubscribe, leave)
    # A forged token: another delivery's id under a MAC that is not for it.
    token = sent[forged].bounce.partition("@")[0].removeprefix("bounce+")
    fake = f"bounce+1{token}@{DOMAIN}"
    smtp_send(port, fake, dsn(to=fake, recipient=forged))
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # not an open relay
        smtp_send(port, "someone@elsewhere.example", bounce)

    assert (status(hard), delivery_of(hard)) == ("bounced", "bounced")
    assert (status(soft), delivery_of(soft)) == ("active", "sent")  # one soft of three
    assert status(complainer) == "complained" and subscriptions(complainer) == ["stopped"]
    assert status(leaver) == "unsubscribed" and subscriptions(leaver) == ["unsubscribed"]
    assert (status(forged), delivery_of(forged)) == ("active", "sent")
    assert inbound_rows() == 5  # hard, soft, complaint, unsubscribe, the forged one (ignored)


def test_reports_through_the_pipe_take_effect_once(db, bounce_domain, start_worker, sink):
    sent = send_issue(start_worker, sink, 4)
    hard, complainer, leaver, forged = sorted(sent)
    bounce = dsn(to=sent[hard].bounce, recipient=hard, status="5.2.1")
    first, again = pipe(bounce, sent[hard].bounce), pipe(bounce, sent[hard].bounce)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr
    assert b"hard" in first.stdout and b"duplicate" in again.stdout
    # Without --recipient the headers name the address (a pipe that passes none).
    assert pipe(arf(return_path=sent[complainer].bounce)).returncode == 0
    assert pipe(unsubscribe_mail(sent[leaver].unsubscribe)).returncode == 0
    fake = sent[forged].unsubscribe.replace("unsubscribe+", "unsubscribe+1")
    assert pipe(unsubscribe_mail(fake), fake).returncode == 0

    assert (status(hard), delivery_of(hard)) == ("bounced", "bounced")
    assert status(complainer) == "complained"
    assert status(leaver) == "unsubscribed"
    assert status(forged) == "active"


def test_the_pipe_speaks_sendmail_exit_codes(db, bounce_domain) -> None:
    assert pipe(b"").returncode == 65  # EX_DATAERR: the MTA bounces it
    assert pipe(b"no headers here, just words\r\n").returncode == 65
    assert pipe(unsubscribe_mail("letters@example.com")).returncode == 0  # not ours: dropped
    down = {**os.environ, "NEWSLETTER_DATABASE_URL":
            f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"}  # fmt: skip
    result = pipe(unsubscribe_mail(f"unsubscribe+1.a@{DOMAIN}"), env=down)
    assert result.returncode == 75 and b"retry later" in result.stderr  # EX_TEMPFAIL
