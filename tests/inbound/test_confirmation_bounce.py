"""A confirmation carries a VERP return path too; its late bounce suppresses the address."""

from __future__ import annotations

from sqlalchemy import select

from newsletter.core.db.models import Mail, Subscriber
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings, reset_settings
from newsletter.delivery import oneoff
from newsletter.inbound.apply import receive
from newsletter.subscribers import service
from tests.support.factories import make_series
from tests.support.reports import dsn

DOMAIN = "bounces.example.com"


def test_a_confirmation_bounced_after_the_250(db, sink, confirmations, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_BOUNCE_DOMAIN", DOMAIN)
    reset_settings()
    with transaction() as session:
        make_series(session)
        sid = service.signup(session, "late@example.org", "", "letters").subscriber_id
        mail_id = session.scalars(select(Mail.id)).one()
    assert oneoff.send_mail([mail_id]) == {"sent": 1}
    ((mail_from, _, _),) = sink.messages
    assert mail_from.startswith("bounce+m.") and mail_from.endswith("@" + DOMAIN)
    assert len(mail_from.partition("@")[0]) <= 64

    forged = mail_from.replace("bounce+m.", "bounce+m.1")
    with transaction() as session:
        assert receive(session, dsn(to=forged, recipient="late@example.org"), [forged],
                       get_settings()) == "ignored"  # fmt: skip
        # A delivery's token cannot name a mail row (the purposes differ).
        as_delivery = mail_from.replace("bounce+m.", "bounce+")
        assert receive(session, dsn(to=as_delivery, recipient="late@example.org"),
                       [as_delivery], get_settings()) == "ignored"  # fmt: skip
        raw = dsn(to=mail_from, recipient="late@example.org", status="5.1.1")
        assert receive(session, raw, [mail_from], get_settings()) == "hard"
    with transaction() as session:
        row = session.get_one(Mail, mail_id)
        assert row.status == "failed" and "5.1.1" in (row.last_error or "")
        person = session.get_one(Subscriber, sid)
        assert person.status == "bounced"
