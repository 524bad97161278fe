"""Send slots on their own: pure functions, no database."""

from __future__ import annotations

import datetime as dt

from newsletter.core.db.models import FirstPart, LateJoiners
from newsletter.scheduling.cadence import to_utc
from newsletter.scheduling.slots import (
    Plan,
    after_part,
    first_due,
    following,
    next_slot,
    pause_end,
    progress_line,
    valid_zone,
)

NY = "America/New_York"
START = to_utc(dt.datetime(2026, 11, 30, 9, 0), NY)
SERIAL = Plan("serial", "daily", NY, START, FirstPart.NEXT_SLOT)


def test_the_slot_is_the_start_time_of_day_in_the_readers_zone() -> None:
    confirmed = dt.datetime(2026, 11, 30, 3, 28)  # 22:28 the evening before in New York
    assert next_slot(SERIAL, NY, confirmed) == dt.datetime(2026, 11, 30, 14, 0)
    assert next_slot(SERIAL, "Asia/Tokyo", confirmed) == dt.datetime(2026, 12, 1, 0, 0)
    assert first_due(SERIAL, "Asia/Tokyo", confirmed) == dt.datetime(2026, 12, 1, 0, 0)
    assert first_due(SERIAL, None, confirmed) == dt.datetime(2026, 11, 30, 14, 0)


def test_following_steps_the_local_calendar_across_dst() -> None:
    before = dt.datetime(2027, 3, 13, 14, 0)  # 09:00 EST, the day before the change
    assert following(SERIAL, NY, before) == dt.datetime(2027, 3, 14, 13, 0)  # 09:00 EDT
    autumn = dt.datetime(2027, 11, 6, 13, 0)
    assert following(SERIAL, NY, autumn) == dt.datetime(2027, 11, 7, 14, 0)


def test_a_pressed_part_anchors_the_next_one_on_the_cadence_day_at_the_slot() -> None:
    pressed = dt.datetime(2026, 12, 1, 20, 0)  # 15:00 in New York
    assert following(SERIAL, NY, pressed) == dt.datetime(2026, 12, 2, 14, 0)
    weekly = Plan("serial", "weekly", NY, START)
    assert following(weekly, NY, pressed) == dt.datetime(2026, 12, 8, 14, 0)


def test_after_downtime_the_next_part_is_at_the_next_slot_not_a_burst() -> None:
    due = dt.datetime(2026, 12, 1, 14, 0)
    back = dt.datetime(2026, 12, 5, 15, 0)
    assert after_part(SERIAL, NY, due, due) == dt.datetime(2026, 12, 2, 14, 0)
    assert after_part(SERIAL, NY, due, back) == dt.datetime(2026, 12, 6, 14, 0)


def test_first_part_policies() -> None:
    now = dt.datetime(2026, 12, 1, 3, 0)
    assert first_due(Plan("serial", "daily", NY, START), None, now) == now  # a welcome
    broadcast = Plan("broadcast", "daily", NY, START, late_joiners=LateJoiners.CATCH_UP)
    assert first_due(broadcast, None, now) is None  # nothing went out yet: plain broadcast
    late = Plan("broadcast", "daily", NY, START, late_joiners=LateJoiners.CATCH_UP, released=True)
    assert first_due(late, None, now) == now
    assert first_due(Plan("broadcast", "daily", NY, START, released=True), None, now) is None


def test_progress_line_promises_only_what_will_come() -> None:
    due = dt.datetime(2026, 12, 1, 14, 0)
    assert progress_line(2, 4, 3, due, NY) == "Part 2 of 4 · part 3 arrives Tue 1 Dec, 09:00"
    assert progress_line(4, 4, None, None, NY) == "Part 4 of 4 · the last part"
    assert progress_line(2, 4, 3, due, NY, paused=True).endswith("comes when you resume")


def test_zones_and_pauses() -> None:
    assert valid_zone(" Asia/Tokyo ") == "Asia/Tokyo"
    assert valid_zone("Mars/Olympus") is None and valid_zone("") is None
    assert valid_zone("../../etc/passwd") is None
    now = dt.datetime(2026, 12, 1, 12, 0)
    assert pause_end(2, now) == now + dt.timedelta(weeks=2) and pause_end(None, now) is None
