"""Adding a part from the console's editor (`scheduling.parts`), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from newsletter.core.db.models import (
    DeliveryStatus,
    Essay,
    Event,
    Issue,
    IssueStatus,
    Series,
)
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.scheduling import parts
from tests.support.factories import make_delivery, make_subscriber

BLOCKS = [
    {"type": "paragraph", "text": "The new part opens here."},
    {"type": "pull_quote", "text": "A line worth quoting."},
]
# The "labor" series is weekly from Tuesday 2026-12-01 09:00 Berlin (08:00 UTC), 3 parts.
FOURTH_SLOT = dt.datetime(2026, 12, 22, 8, 0)


def _parts(series_id: int) -> list[tuple[int, str, dt.datetime | None]]:
    with transaction() as session:
        rows = session.execute(
            select(Issue.number, Essay.title, Issue.scheduled_at)
            .join(Essay, Issue.essay_id == Essay.id)
            .where(Issue.series_id == series_id)
            .order_by(Issue.number)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _publish(series_id: int, number: int) -> None:
    with transaction() as session:
        series = session.get_one(Series, series_id)
        reader = make_subscriber(session, series, f"r{number}@example.com")
        make_delivery(session, series, reader, number, DeliveryStatus.SENT)


def test_blocks_from_text() -> None:
    text = "First line\nwrapped on.\r\n\r\n> A quote\n> over two lines\n\n\n\nLast.  \n"
    assert parts.blocks_from_text(text) == [
        {"type": "paragraph", "text": "First line wrapped on."},
        {"type": "pull_quote", "text": "A quote over two lines"},
        {"type": "paragraph", "text": "Last."},
    ]
    assert parts.blocks_from_text(" \n\n ") == []


def test_append_a_broadcast_part_at_the_next_cadence_step(series_id: int) -> None:
    before = _parts(series_id)
    with transaction() as session:
        issue = parts.add_part(session, "labor", "  A New   Part ", BLOCKS)
        assert issue.number == 4 and issue.status == IssueStatus.SCHEDULED
        assert issue.essay.number == 4 and issue.essay.slug == "a-new-part"
        assert issue.essay.blocks == BLOCKS
        assert session.get_one(Series, series_id).revision == 2
        kinds = session.scalars(select(Event.kind).where(Event.series_id == series_id)).all()
        assert "series_part_added" in kinds
    assert _parts(series_id) == [*before, (4, "A New Part", FOURTH_SLOT)]


def test_insert_among_unsent_parts_keeps_dates_with_positions(series_id: int) -> None:
    before = _parts(series_id)
    with transaction() as session:
        issue = parts.add_part(session, "labor", "Inserted", BLOCKS, position=2)
        assert issue.number == 2
    after = _parts(series_id)
    assert [t for _, t, _ in after] == [before[0][1], "Inserted", before[1][1], before[2][1]]
    assert [d for *_, d in after] == [*(d for *_, d in before), FOURTH_SLOT]
    with transaction() as session:  # the last position is the same as appending
        assert parts.add_part(session, "labor", "Last", BLOCKS, position=5).number == 5


def test_never_before_a_sent_part(series_id: int) -> None:
    _publish(series_id, 1)
    before = _parts(series_id)
    with transaction() as session, pytest.raises(Conflict, match="goes after it"):
        parts.add_part(session, "labor", "Too early", BLOCKS, position=1)
    assert _parts(series_id) == before
    with transaction() as session:
        assert parts.add_part(session, "labor", "In time", BLOCKS, position=2).number == 2


def test_mistakes_change_nothing(series_id: int) -> None:
    before = _parts(series_id)
    for kwargs, error, message in (
        ({"title": "  "}, UserError, "title is empty"),
        ({"title": "A\x1b[31m"}, UserError, "control character"),
        ({"blocks": []}, UserError, "at least one block"),
        ({"blocks": [{"type": "paragraph", "text": "a\x00b"}]}, UserError, "control character"),
        ({"blocks": [{"type": "heading", "text": "x"}]}, UserError, "paragraph or pull_quote"),
        ({"position": 0}, UserError, "outside 1-4"),
        ({"position": 9}, UserError, "outside 1-4"),
        ({"slug": "nope"}, NotFound, "no series"),
    ):
        args = {"slug": "labor", "title": "Fine", "blocks": BLOCKS, **kwargs}
        with transaction() as session, pytest.raises(error, match=message):
            parts.add_part(session, **args)  # type: ignore[arg-type]
    assert _parts(series_id) == before
    with transaction() as session:
        assert session.get_one(Series, series_id).revision == 1


def test_a_serial_part_has_no_date_of_its_own(serial_id: int) -> None:
    with transaction() as session:
        issue = parts.add_part(session, "serial-labor", "More", BLOCKS, position=1)
        assert issue.number == 1 and issue.status == IssueStatus.SERIAL
    numbers = _parts(serial_id)
    assert [n for n, *_ in numbers] == [1, 2, 3, 4]
    assert numbers[0][1] == "More" and all(d is None for *_, d in numbers)


def test_edit_view_marks_sent_parts(series_id: int) -> None:
    _publish(series_id, 1)
    with transaction() as session:
        view = parts.edit_view(session, "labor")
        part = parts.part_view(session, "labor", 1)
        with pytest.raises(NotFound, match="no part 7"):
            parts.part_view(session, "labor", 7)
    assert [p.sent for p in view.parts] == [True, False, False] and view.first_unsent == 2
    assert part.sent and part.count == 3 and view.sender["from_name"] == ""
