"""Editing a scheduled series: settings, sender, unsent parts (edit, move, remove), delete."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import (
    DeliveryStatus,
    Essay,
    Issue,
    Series,
    SeriesStatus,
    Subscription,
)
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.core.settings import get_settings
from newsletter.delivery.compose import Recipient, compose, rendered_issue
from newsletter.delivery.identity import Identity
from newsletter.scheduling import editing
from newsletter.scheduling.queries import open_series
from tests.support.factories import make_delivery, make_subscriber

PARA = {"type": "paragraph", "text": "A new opening."}
QUOTE = {"type": "pull_quote", "text": "A line worth quoting."}


def _publish(series_id: int, number: int) -> None:
    with transaction() as session:
        series = session.get_one(Series, series_id)
        reader = make_subscriber(session, series, f"r{number}@example.com")
        make_delivery(session, series, reader, number, DeliveryStatus.SENT)


def _parts(series_id: int) -> list[tuple[int, str, dt.datetime | None]]:
    with transaction() as session:
        rows = session.execute(
            select(Issue.number, Essay.title, Issue.scheduled_at)
            .join(Essay, Issue.essay_id == Essay.id)
            .where(Issue.series_id == series_id)
            .order_by(Issue.number)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_edit_an_unsent_essay_and_refuse_a_sent_one(series_id: int) -> None:
    _publish(series_id, 1)
    with transaction() as session:
        essay = editing.edit_essay(session, "labor", 2, title="  New  title ", blocks=[PARA, QUOTE])
        assert essay.title == "New title" and essay.blocks == [PARA, QUOTE]
        assert session.get_one(Series, series_id).revision == 2
    with transaction() as session, pytest.raises(Conflict, match="part 1 .* was sent"):
        editing.edit_essay(session, "labor", 1, title="Rewritten history")
    with transaction() as session, pytest.raises(NotFound, match="no part 9"):
        editing.edit_essay(session, "labor", 9, title="x")
    for bad, message in (
        ([], "at least one block"),
        ([{"type": "heading", "text": "x"}], "paragraph or pull_quote"),
        ([{"type": "paragraph", "text": "  "}], "block 1 is empty"),
        ([{"type": "paragraph", "text": "a\x00b"}], "control character"),
    ):
        with transaction() as session, pytest.raises(UserError, match=message):
            editing.edit_essay(session, "labor", 2, blocks=bad)


def test_move_keeps_dates_with_positions(series_id: int) -> None:
    before = _parts(series_id)
    with transaction() as session:
        editing.move_part(session, "labor", 3, 2)
    after = _parts(series_id)
    assert [t for _, t, _ in after] == [before[0][1], before[2][1], before[1][1]]
    assert [d for *_, d in after] == [d for *_, d in before]
    _publish(series_id, 1)
    with transaction() as session, pytest.raises(Conflict, match="stands in the way"):
        editing.move_part(session, "labor", 3, 1)
    with transaction() as session, pytest.raises(UserError, match="outside 1-3"):
        editing.move_part(session, "labor", 3, 4)


def test_remove_renumbers_and_shifts_dates(series_id: int) -> None:
    before = _parts(series_id)
    with transaction() as session:
        editing.remove_part(session, "labor", 2)
    after = _parts(series_id)
    assert after == [before[0], (2, before[2][1], before[1][2])]
    with transaction() as session:
        editing.remove_part(session, "labor", 2)
    with transaction() as session, pytest.raises(Conflict, match="only part"):
        editing.remove_part(session, "labor", 1)


def test_update_settings_and_sender(series_id: int) -> None:
    with transaction() as session:
        editing.update_series(
            session,
            "labor",
            {
                "title": "Labor, Revised",
                "from_name": "Ed at Labor",
                "from_address": "ed@labor.example.org",
                "reply_to": "replies@labor.example.org",
                "footer_text": "You read Labor because you asked to.",
            },
        )
    for field, value, message in (
        ("from_address", "not an address", "not a valid address"),
        ("reply_to", "a@b@c", "not a valid address"),
        ("from_name", "Ed\r\nBcc: x@example.com", "one line"),
        ("from_name", "Bank <security@bank.example>", "may not contain"),
        ("from_name", 'The "Desk"', "may not contain"),
        ("colour", "red", "cannot change"),
        ("title", "   ", "title is empty"),
    ):
        with transaction() as session, pytest.raises(UserError, match=message):
            editing.update_series(session, "labor", {field: value})
    with transaction() as session:
        issue = rendered_issue(session, 0, series_id, 2)
    identity = Identity.from_settings(get_settings())
    to = Recipient(1, 2, "r@example.com", "R", 0, series_id, "labor", "Labor", 2, "<x@y>")
    message = BytesParser(policy=policy.default).parsebytes(compose(identity, issue, to))
    assert message["From"] == "Ed at Labor <ed@labor.example.org>"
    assert message["Reply-To"] == "replies@labor.example.org"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "You read Labor because you asked to." in text
    assert get_settings().postal_address in text  # the default where the series has none
    with transaction() as session:  # "" goes back to the default
        editing.update_series(session, "labor", {"from_name": "", "from_address": ""})
        issue = rendered_issue(session, 0, series_id, 2)
    assert issue.sender == get_settings().from_


def test_delete_unsent_series_outright(series_id: int) -> None:
    with transaction() as session:
        make_subscriber(session, session.get_one(Series, series_id), "r@example.com")
    with transaction() as session:
        done = editing.delete_series(session, "labor")
    assert done.removed
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Series)) == 0
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_delete_with_sent_parts_needs_force_and_keeps_the_archive(series_id: int) -> None:
    _publish(series_id, 1)
    with transaction() as session, pytest.raises(Conflict, match="--force"):
        editing.delete_series(session, "labor")
    with transaction() as session:
        done = editing.delete_series(session, "labor", force=True)
    assert not done.removed and done.kept_parts == 1
    assert [n for n, *_ in _parts(series_id)] == [1]
    with transaction() as session:
        assert session.get_one(Series, series_id).status == SeriesStatus.DELETED
        assert session.scalar(select(func.count()).select_from(Subscription)) == 0
        assert open_series(session) == []
