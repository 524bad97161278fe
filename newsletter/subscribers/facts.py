"""The facts the lifecycle rules decide on and the answers they give (no rules here).

`lifecycle` holds the rules; these are the shapes its callers fill in and apply: what is
known of a person (`Person`) and of one subscription (`Membership`), a request to join
(`Join`), and the answers (`Joining`, `Transition`). Kept apart so the rules read on
their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from newsletter.scheduling.slots import Plan

Columns = dict[str, Any]  # column name → new value, for one row
AuditEvent = tuple[str, dict[str, Any]]  # (kind, data) for `core.events.record`


class Outcome:
    """What a join did; the public form answers the same whatever this says."""

    CREATED = "created"
    RESENT = "resent"
    RATE_LIMITED = "rate_limited"
    ALREADY_ACTIVE = "already_active"
    RESTARTED = "restarted"
    PENDING_SERIES = "pending_series"
    SUPPRESSED = "suppressed"
    ADDED = "added"


@dataclass(frozen=True, slots=True)
class LastMail:
    """A person's newest confirmation mail as its outbox row has it (a `MailStatus`)."""

    status: str
    sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """What the rules need to know of a subscriber row."""

    id: int
    status: str
    name: str = ""
    confirmed_at: dt.datetime | None = None
    confirmation_sent_at: dt.datetime | None = None
    erased: bool = False
    last_mail: LastMail | None = None  # None: no outbox row (say, from before there was one)
    timezone: str | None = None  # their own zone for send slots; None: the series' zone


@dataclass(frozen=True, slots=True)
class Membership:
    """What the rules need to know of one subscription.

    `mode` is read only where the subscription may become active (confirm, resume, join),
    so the other writers need not load the series: the series' `Plan` (when part 1 is
    due follows from it), or just its mode, broadcast | serial (part 1 then due at once).
    """

    series_id: int
    status: str
    next_due_at: dt.datetime | None = None
    mode: str | Plan | None = None
    paused_until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Join:
    """A request to join one series: signup form, API, operator add or an import row.

    `confirmed` means an operator vouches for consent: active at once, no mail.
    """

    source: str
    confirmed: bool = False
    name: str = ""
    timezone: str | None = None  # checked IANA zone (the signup form's browser zone)


@dataclass(frozen=True, slots=True)
class Joining:
    """The answer to a `Join`.

    For a new address `subscriber` holds every lifecycle column of the new row and
    `subscription` the new subscription's; for a known one both hold only the changes
    (`subscription` None: leave the subscription as it is, or create none). No event means
    nothing is written at all.
    """

    outcome: str
    subscriber: Columns = field(default_factory=dict)
    subscription: Columns | None = None
    event: AuditEvent | None = None
    mail: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    """Changes to a person and the given subscriptions (in order); no event: no change."""

    subscriber: Columns
    subscriptions: tuple[Columns, ...]
    event: AuditEvent | None

    @property
    def changed(self) -> bool:
        return self.event is not None
