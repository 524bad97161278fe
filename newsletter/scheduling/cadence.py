"""Cadences and DST-correct send times.

Editors think in local wall-clock time ("every Tuesday at 09:00 in Berlin"), the database
stores naive UTC. So day- and week-based cadences step the *local* calendar and convert each
occurrence to UTC on its own: weekly 09:00 Europe/Berlin stays 09:00 local across the March
and October changes (08:00 UTC in winter, 07:00 UTC in summer). Hour-based cadences
(`every 12h`) are elapsed time and step UTC directly.

Local times that do not exist (the spring-forward gap) or exist twice (the autumn overlap)
are resolved with `fold=0`, i.e. with the offset in force before the change, so the same
input always gives the same instant.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterBadCronError, croniter

from newsletter.core.errors import UserError

_EVERY = re.compile(r"^every\s+(\d+)\s*([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class InvalidCadence(UserError):
    pass


@dataclass(frozen=True)
class Cadence:
    """Either a fixed step (`step`, local-calendar unless hourly) or a cron expression."""

    text: str
    step: dt.timedelta | None = None
    cron: str | None = None

    @property
    def elapsed(self) -> bool:
        """True when the step is elapsed time (hours), False for local-calendar steps."""
        return self.step is not None and self.step % dt.timedelta(days=1) != dt.timedelta(0)


def parse_cadence(text: str) -> Cadence:
    """`weekly`, `daily`, `every N{h,d,w}` or a 5-field cron expression."""
    raw = " ".join((text or "").split()).lower()
    if raw == "weekly":
        return Cadence(raw, step=dt.timedelta(weeks=1))
    if raw == "daily":
        return Cadence(raw, step=dt.timedelta(days=1))
    match = _EVERY.match(raw)
    if match:
        count = int(match.group(1))
        if count < 1:
            raise InvalidCadence(f"cadence {text!r}: the interval must be at least 1")
        return Cadence(raw, step=dt.timedelta(**{_UNITS[match.group(2)]: count}))
    if len(raw.split()) == 5:
        try:
            croniter(raw)
        except (CroniterBadCronError, ValueError, KeyError) as exc:
            raise InvalidCadence(f"cadence {text!r} is not a valid cron expression") from exc
        return Cadence(raw, cron=raw)
    raise InvalidCadence(
        f"unknown cadence {text!r}; use weekly, daily, 'every 3d', 'every 12h', 'every 2w' "
        "or a 5-field cron expression"
    )


@functools.cache
def common_zones() -> tuple[str, ...]:
    """The IANA zone names a form offers (Area/City ones and UTC, sorted), from the zone
    database this machine has; any other valid name is still accepted when typed."""
    names = available_timezones()
    cities = sorted(n for n in names if "/" in n and not n.startswith(("Etc/", "SystemV/")))
    return (*cities, "UTC")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(f"unknown time zone {name!r}; use an IANA name like Europe/Berlin") from exc


def to_utc(local: dt.datetime, tz: str) -> dt.datetime:
    """Naive local wall time in `tz` → naive UTC (fold=0 for gaps and overlaps)."""
    if local.tzinfo is not None:
        return local.astimezone(dt.UTC).replace(tzinfo=None)
    aware = local.replace(tzinfo=zone(tz), fold=0)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


def to_local(utc: dt.datetime, tz: str) -> dt.datetime:
    """Naive UTC → aware local time in `tz` (for display and for stepping the calendar)."""
    return utc.replace(tzinfo=dt.UTC).astimezone(zone(tz))


def _cron_after(local: dt.datetime, cron: str, count: int) -> list[dt.datetime]:
    """The next `count` wall-clock matches strictly after naive `local`."""
    it = croniter(cron, local)
    return [it.get_next(dt.datetime) for _ in range(count)]


def following_local(start_local: dt.datetime, cadence: Cadence, count: int) -> list[dt.datetime]:
    """`count` naive local wall times strictly after `start_local` (not hourly cadences)."""
    if cadence.cron:
        return _cron_after(start_local, cadence.cron, count)
    assert cadence.step is not None
    return [start_local + cadence.step * k for k in range(1, count + 1)]


def schedule(start_local: dt.datetime, cadence: Cadence | str, tz: str, count: int) -> list:
    """`count` send times as naive UTC; the first is `start_local` (or cron's first match)."""
    cad = parse_cadence(cadence) if isinstance(cadence, str) else cadence
    if count <= 0:
        return []
    start_local = start_local.replace(second=0, microsecond=0)
    if cad.cron and not croniter.match(cad.cron, start_local):
        start_local = _cron_after(start_local, cad.cron, 1)[0]
    return shifted(start_local, cad, tz, count)


def shifted(at_local: dt.datetime, cadence: Cadence | str, tz: str, count: int) -> list:
    """Send times for a part moved to exactly `at_local` and the `count - 1` parts after it."""
    cad = parse_cadence(cadence) if isinstance(cadence, str) else cadence
    first = to_utc(at_local, tz)
    if cad.elapsed:
        assert cad.step is not None
        return [first + cad.step * k for k in range(count)]
    return [first] + [to_utc(t, tz) for t in following_local(at_local, cad, count - 1)]


def next_due(after_utc: dt.datetime, cadence: Cadence | str, tz: str) -> dt.datetime:
    """Serial mode: one cadence interval after the previous send at `after_utc` (naive UTC)."""
    cad = parse_cadence(cadence) if isinstance(cadence, str) else cadence
    if cad.elapsed:
        assert cad.step is not None
        return after_utc + cad.step
    local = to_local(after_utc, tz).replace(tzinfo=None)
    return to_utc(following_local(local, cad, 1)[0], tz)
