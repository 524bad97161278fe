"""DST-correct schedules: local wall-clock time is what editors mean."""

import datetime as dt

import pytest

from newsletter.core.errors import UserError
from newsletter.scheduling.cadence import (
    InvalidCadence,
    next_due,
    parse_cadence,
    schedule,
    to_local,
    to_utc,
)

BERLIN = "Europe/Berlin"


def local_times(times, tz=BERLIN):
    return [f"{to_local(t, tz):%Y-%m-%d %H:%M %Z}" for t in times]


def test_weekly_stays_nine_local_across_march_change() -> None:
    times = schedule(dt.datetime(2026, 3, 22, 9, 0), "weekly", BERLIN, 3)
    assert times == [
        dt.datetime(2026, 3, 22, 8, 0),  # CET, UTC+1
        dt.datetime(2026, 3, 29, 7, 0),  # CEST, UTC+2: change on 29 March
        dt.datetime(2026, 4, 5, 7, 0),
    ]
    assert local_times(times) == [
        "2026-03-22 09:00 CET",
        "2026-03-29 09:00 CEST",
        "2026-04-05 09:00 CEST",
    ]


def test_weekly_stays_nine_local_across_october_change() -> None:
    times = schedule(dt.datetime(2026, 10, 18, 9, 0), "weekly", BERLIN, 3)
    assert times == [
        dt.datetime(2026, 10, 18, 7, 0),
        dt.datetime(2026, 10, 25, 8, 0),  # back to CET on 25 October
        dt.datetime(2026, 11, 1, 8, 0),
    ]


def test_every_3d_steps_local_days_across_the_change() -> None:
    times = schedule(dt.datetime(2026, 3, 27, 9, 0), "every 3d", BERLIN, 3)
    assert local_times(times) == [
        "2026-03-27 09:00 CET",
        "2026-03-30 09:00 CEST",
        "2026-04-02 09:00 CEST",
    ]


def test_every_12h_is_elapsed_time() -> None:
    times = schedule(dt.datetime(2026, 3, 28, 21, 0), "every 12h", BERLIN, 3)
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [dt.timedelta(hours=12)] * 2
    assert local_times(times)[1] == "2026-03-29 10:00 CEST"  # 12 real hours, not 09:00


def test_cron_first_match_and_dst() -> None:
    # Mondays 09:00, starting on a Sunday: the first send is the next Monday.
    times = schedule(dt.datetime(2026, 3, 22, 0, 0), "0 9 * * 1", BERLIN, 2)
    assert local_times(times) == ["2026-03-23 09:00 CET", "2026-03-30 09:00 CEST"]
    assert times[1] == dt.datetime(2026, 3, 30, 7, 0)


def test_nonexistent_and_ambiguous_local_times_are_deterministic() -> None:
    # 02:30 does not exist on 29 March in Berlin: fold=0 reads it with the old offset (+1).
    assert to_utc(dt.datetime(2026, 3, 29, 2, 30), BERLIN) == dt.datetime(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25 October: fold=0 is the first one (CEST, +2).
    assert to_utc(dt.datetime(2026, 10, 25, 2, 30), BERLIN) == dt.datetime(2026, 10, 25, 0, 30)


def test_next_due_is_one_interval_after_previous_send() -> None:
    before = dt.datetime(2026, 3, 28, 8, 0)  # 09:00 CET
    assert next_due(before, "daily", BERLIN) == dt.datetime(2026, 3, 29, 7, 0)
    assert next_due(before, "every 2w", BERLIN) == dt.datetime(2026, 4, 11, 7, 0)
    assert next_due(before, "every 6h", BERLIN) == dt.datetime(2026, 3, 28, 14, 0)
    assert next_due(before, "0 9 * * *", BERLIN) == dt.datetime(2026, 3, 29, 7, 0)


@pytest.mark.parametrize("text", ["weekly", "Daily", "every 3d", "every  12h", "*/5 * * * *"])
def test_parse_valid(text) -> None:
    assert parse_cadence(text).text


@pytest.mark.parametrize("text", ["", "fortnightly", "every 0d", "every 3m", "61 * * * *"])
def test_parse_invalid(text) -> None:
    with pytest.raises(InvalidCadence):
        parse_cadence(text)


def test_unknown_time_zone_is_a_user_error() -> None:
    with pytest.raises(UserError, match="time zone"):
        schedule(dt.datetime(2026, 1, 1, 9), "weekly", "Mars/Olympus", 1)
