"""Send slots: when a reader's next part is due, at the series' local time in their zone.

A series sends at one local time of day (the wall-clock time of its start in its zone) on
its cadence days. In serial mode every reader walks the parts on their own days, but at
that same local time: 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer,
and a reader who chose Asia/Tokyo gets 09:00 Tokyo (00:00 UTC). Everything here is pure
(no database, no clock): the tick, the reader's controls and the lifecycle ask with the
facts they hold (a `Plan` and the reader's zone) and store the naive UTC answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from newsletter.core.db.models import FirstPart, LateJoiners
from newsletter.core.errors import UserError
from newsletter.scheduling.cadence import (
    Cadence,
    following_local,
    parse_cadence,
    to_local,
    to_utc,
    zone,
)

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    """What scheduling a reader needs to know of their series (no ORM object).

    `released` says whether a broadcast series has sent any part yet: a late joiner is
    someone who joins after that.
    """

    mode: str
    cadence: str
    timezone: str
    start_at: dt.datetime  # naive UTC; its local time of day in `timezone` is the slot
    first_part: str = FirstPart.NOW
    late_joiners: str = LateJoiners.NEXT
    released: bool = False

    @property
    def serial(self) -> bool:
        return self.mode == "serial"

    @property
    def slot(self) -> dt.time:
        """The series' local send time of day."""
        return to_local(self.start_at, self.timezone).time().replace(tzinfo=None)

    def reader_zone(self, reader: str | None) -> str:
        """The zone a reader's parts are timed in: their own, else the series'."""
        return reader or self.timezone


def valid_zone(name: str | None) -> str | None:
    """An IANA zone name as given, or None for an empty or unknown one (a browser may
    report a zone this server's tz database lacks: the series' zone is then used)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        return None
    try:
        zone(name)
    except UserError:
        return None
    return name


def _cadence(plan: Plan) -> Cadence:
    return parse_cadence(plan.cadence)


def next_slot(plan: Plan, tz: str, after: dt.datetime) -> dt.datetime:
    """The first send time strictly after `after` (naive UTC): the slot's local time in
    `tz` on the next day it has not passed, or the cron cadence's next match there."""
    cad = _cadence(plan)
    local = to_local(after, tz).replace(tzinfo=None)
    if cad.cron:
        return to_utc(following_local(local, cad, 1)[0], tz)
    candidate = dt.datetime.combine(local.date(), plan.slot)
    while to_utc(candidate, tz) <= after:
        candidate += _DAY
    return to_utc(candidate, tz)


def following(plan: Plan, tz: str, previous: dt.datetime) -> dt.datetime:
    """One cadence step after a part that went out (or was due) at `previous`, at the slot.

    Day and week cadences step the reader's local calendar from `previous`'s local date
    at the slot time, so a reader who pressed "next part now" at 15:00 gets the part after
    it on the next cadence day at 09:00, and DST changes keep 09:00 local. Hour cadences
    are elapsed time.
    """
    cad = _cadence(plan)
    if cad.elapsed:
        assert cad.step is not None
        return previous + cad.step
    local = to_local(previous, tz).replace(tzinfo=None)
    if not cad.cron:
        local = dt.datetime.combine(local.date(), plan.slot)
    return to_utc(following_local(local, cad, 1)[0], tz)


def after_part(plan: Plan, tz: str, previous: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When the part after one due at `previous` is due, seen at `now`.

    Counted from when the last part was due, so a late tick does not shift the reader's
    days; but never in the past (the scheduler was down for a while): then the next slot,
    so a reader never gets a burst of parts to catch up.
    """
    due = following(plan, tz, previous)
    return due if due > now else next_slot(plan, tz, now)


def first_due(plan: Plan, reader_tz: str | None, now: dt.datetime) -> dt.datetime | None:
    """When a reader who starts now gets part 1; None when the broadcast brings it.

    Serial: at once (a welcome) or at the next slot, per the series. Broadcast: None,
    unless parts already went out and the series lets late joiners catch up: then part 1
    at once and the back parts on the cadence until they are level.
    """
    if plan.serial:
        if plan.first_part == FirstPart.NEXT_SLOT:
            return next_slot(plan, plan.reader_zone(reader_tz), now)
        return now
    if plan.released and plan.late_joiners == LateJoiners.CATCH_UP:
        return now
    return None


def pause_end(weeks: int | None, now: dt.datetime) -> dt.datetime | None:
    """When a pause for `weeks` weeks taken now ends; None for "until I resume"."""
    return None if not weeks else now + dt.timedelta(weeks=weeks)


def progress_line(
    number: int,
    total: int,
    next_part: int | None,
    next_due: dt.datetime | None,
    tz: str,
    paused: bool = False,
) -> str:
    """'Part 2 of 4 · part 3 arrives Tue 1 Dec, 09:00' in the reader's zone.

    Only what will come is promised: the last part says so, a pause says so, and with no
    date (a reader level with a broadcast) the line names none.
    """
    head = f"Part {number} of {total}"
    if next_part is None or next_part > total:
        return f"{head} · the last part"
    if paused:
        return f"{head} · paused; part {next_part} comes when you resume"
    if next_due is None:
        return f"{head} · part {next_part} comes with the next issue"
    return f"{head} · part {next_part} arrives {local_label(next_due, tz)}"


def local_label(when: dt.datetime, tz: str) -> str:
    """'Tue 1 Dec, 09:00': a naive UTC time as the reader's wall clock shows it."""
    local = to_local(when, tz)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"
