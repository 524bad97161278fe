"""Two signups of the same new address at the same moment (double-clicked form, two tabs).

Both requests look the address up before either has committed, so both try to create it;
the unique `email_key` lets only one insert win. The service must turn the loser into an
ordinary repeat signup instead of raising IntegrityError (a 500 for that visitor).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import Event, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import NotFound
from newsletter.subscribers import service
from newsletter.subscribers import signup as signup_module
from tests.support.factories import make_series


def test_two_concurrent_signups_of_one_new_address(db, sent, monkeypatch):
    with transaction() as session:
        make_series(session, slug="labor", parts=3)

    # Both threads pass the series lookup (inside their transactions, before the address
    # lookup and insert) before either goes on, so neither can see the other's row.
    barrier = threading.Barrier(2, timeout=30)
    real_get_series = signup_module.series_ref

    def get_series_then_wait(session, slug):
        series = real_get_series(session, slug)
        barrier.wait()
        return series

    monkeypatch.setattr(signup_module, "series_ref", get_series_then_wait)
    results: list[service.SignupResult] = []
    errors: list[BaseException] = []

    def sign_up(name: str) -> None:
        try:
            with transaction() as session:
                results.append(service.signup(session, "Race@Example.com", name, "labor"))
        except BaseException as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(results) == 2
    assert results[0].subscriber_id == results[1].subscriber_id
    assert sorted(r.outcome for r in results) == ["created", "rate_limited"]
    assert len(sent) == 1  # one mail, however many clicks
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 1
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
        signups = session.scalars(select(Event.kind).where(Event.kind == "signup")).all()
        assert signups == ["signup"]


def test_a_series_slug_with_a_nul_is_not_found_on_both_databases(db, sent):
    """Found by the API's schemathesis run: PostgreSQL refuses NUL in text, so the public
    POST /subscribe answered 500 there for such a series name."""
    with transaction() as session:
        make_series(session, "labor", 1)
    for slug in ("la\x00bor", "labor\ud800", "Labor"):
        with pytest.raises(NotFound), transaction() as session:
            service.signup(session, "x@example.com", "", slug)
