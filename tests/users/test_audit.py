"""Reading the audit trail on both databases: the JSON filters, the two page orders, the
export formats, and what never goes in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from newsletter.core.db.session import transaction
from newsletter.core.events import record
from newsletter.users import audit
from newsletter.users.audit import Actor, Filter, record_action

pytestmark = pytest.mark.usefixtures("db")
ALICE = Actor(1, "admin", "session", credential_id=11)
BOB = Actor(2, "operator", "token", credential_id=22)


def _seed(clock) -> None:
    with transaction() as session:
        record(session, "signup", None, None, source="form")  # not an audit entry
        record_action(session, ALICE, "series.pause", {"slug": "labor"}, status=303)
        clock.advance(hours=1)
        record_action(session, BOB, "delivery.retry", {}, "refused", status=403)
        clock.advance(hours=1)
        record_action(session, ALICE, "user.disable", {"user_id": 2}, sessions_ended=1)


def test_filters_by_actor_action_and_time(clock):
    _seed(clock)
    with transaction() as session:
        everything = audit.oldest(session, Filter())
        alice = audit.oldest(session, Filter(actor_id=1))
        retries = audit.oldest(session, Filter(action="delivery.retry"))
        late = audit.oldest(session, Filter(since=clock() - dt.timedelta(minutes=30)))
        actions = audit.actions(session)
    assert [e.action for e in everything] == ["series.pause", "delivery.retry", "user.disable"]
    assert [e.action for e in alice] == ["series.pause", "user.disable"]
    assert [(e.actor_id, e.auth, e.credential_id, e.outcome) for e in retries] == [
        (2, "token", 22, "refused")
    ]
    assert [e.action for e in late] == ["user.disable"]
    assert late[0].facts == {"sessions_ended": 1} and late[0].target == {"user_id": 2}
    assert actions == ["delivery.retry", "series.pause", "user.disable"]


def test_an_actor_id_past_32_bits_matches_nothing(clock):
    """Schemathesis sent actor_id=2**62: PostgreSQL's INTEGER cast overflowed (a 500)."""
    _seed(clock)
    with transaction() as session:
        assert audit.oldest(session, Filter(actor_id=2**62)) == []


def test_pages_newest_first_and_oldest_first(clock):
    _seed(clock)
    with transaction() as session:
        first = audit.newest(session, Filter(), limit=2)
        rest = audit.newest(session, Filter(), before_id=first[-1].id, limit=2)
        forward = audit.oldest(session, Filter(), after_id=first[-1].id)
        every = list(audit.iter_all(session, Filter(), batch=1))
    assert [e.action for e in first] == ["user.disable", "delivery.retry"]
    assert [e.action for e in rest] == ["series.pause"]
    assert [e.action for e in forward] == ["user.disable"]
    assert [e.action for e in every] == ["series.pause", "delivery.retry", "user.disable"]


def test_secret_keys_never_enter_the_trail():
    with transaction() as session:
        record_action(
            session,
            ALICE,
            "subscribers.confirm",
            {"token": "abc.def", "slug": "x" * 500, "email": "a@example.com"},
            password="hunter2hunter2",
            count=3,
        )
        (entry,) = audit.oldest(session, Filter())
    assert entry.target == {"slug": "x" * audit.MAX_VALUE}
    assert entry.facts == {"count": 3}


def test_naive_utc():
    aware = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert audit.naive_utc(aware) == dt.datetime(2026, 12, 1, 9, 0)
    assert audit.naive_utc(dt.datetime(2026, 12, 1, 9, 0)) == dt.datetime(2026, 12, 1, 9, 0)
    assert audit.naive_utc(None) is None


def test_csv_and_json_exports(clock):
    _seed(clock)
    with transaction() as session:
        entries = audit.oldest(session, Filter())
    rows = list(csv.DictReader(io.StringIO(audit.to_csv(entries))))
    assert list(rows[0]) == list(audit.COLUMNS)
    assert rows[0]["at"] == "2026-11-20T12:00:00Z" and rows[0]["target"] == '{"slug": "labor"}'
    assert rows[2]["facts"] == '{"sessions_ended": 1}' and rows[1]["target"] == ""
    parsed = json.loads(audit.to_json(entries))
    assert parsed[1]["actor_role"] == "operator" and parsed[1]["status"] == 403
