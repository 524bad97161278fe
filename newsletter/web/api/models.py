"""Response and request models of /api/v1, so /openapi.json describes every field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _as_utc(value: dt.datetime) -> dt.datetime:
    """The database holds naive UTC; the API says so explicitly (RFC 3339 needs an offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Utc = Annotated[dt.datetime, AfterValidator(_as_utc)]


def _date_text(value: Any) -> Any:
    """A date-time as text only: pydantic would also read 1201052 as a Unix timestamp,
    which the schema (a date-time string) does not promise and a typo should not be."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and _is_number(value)):
        raise ValueError("a date and time like 2030-01-07T09:00 is needed, not a number")
    return value


def _is_number(text: str) -> bool:
    """ "1201052", "0.0", "1e9": what pydantic would read as seconds since 1970."""
    try:
        float(text)
    except ValueError:
        return False
    return True


DateText = Annotated[dt.datetime, BeforeValidator(_date_text)]


class ErrorOut(BaseModel):
    """Every refusal but a 422: one line, safe to show a person."""

    detail: str


def error(description: str) -> dict[str, Any]:
    """An error response as a route's `responses` entry documents it."""
    return {"model": ErrorOut, "description": description}


class SeriesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    description: str
    author: str
    mode: str = Field(description="broadcast or serial")
    cadence: str
    timezone: str
    status: str = Field(description="active, paused or finished")
    start_at: Utc = Field(description="first send, UTC; its local time of day is the send slot")
    first_part: str = Field("now", description="serial: a new reader's part 1 now or next-slot")
    late_joiners: str = Field("next", description="broadcast: late joiners get next or catch-up")


SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"
# A new series' slug: words joined by single hyphens (content.slugs); lookups take SLUG_PATTERN.
NEW_SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


class SeriesIn(BaseModel):
    """A series from a plain-text manuscript (see `newsletter content import`)."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(max_length=100, pattern=NEW_SLUG_PATTERN)
    # The custom formats name rules a JSON schema cannot state; a value they refuse is a 400.
    # The lengths stay under the 1 MB body cap, so a longer value is a 422, not a 413.
    manuscript: str = Field(
        min_length=1, max_length=900_000, json_schema_extra={"format": "manuscript"}
    )
    title: str | None = Field(
        None, max_length=300, pattern=NO_CONTROL_CHARACTERS, json_schema_extra={"format": "line"}
    )
    cadence: str = Field(
        max_length=100,
        description="weekly, daily, 'every 3d' or cron",
        json_schema_extra={"format": "cadence"},
    )
    start: DateText = Field(
        description="first send, local wall time in `timezone` (2030-01-07T09:00, no offset);"
        " a broadcast's must be in the future (400 otherwise: every earlier part would go"
        " out at once)",
        json_schema_extra={"format": "local-date-time"},
    )
    timezone: str = Field("UTC", max_length=64, json_schema_extra={"format": "time-zone"})
    mode: str = Field("broadcast", pattern="^(broadcast|serial)$")
    first_part: str = Field("now", pattern="^(now|next-slot)$")
    late_joiners: str = Field("next", pattern="^(next|catch-up)$")
    description: str | None = Field(
        None, max_length=10_000, pattern=NO_CONTROL_CHARACTERS, json_schema_extra={"format": "line"}
    )


class BlockIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^(paragraph|pull_quote)$")
    # 200 blocks of 4,500 characters stay under the 1 MB body cap (a longer body is a 413).
    text: str = Field(
        min_length=1,
        max_length=4_500,
        pattern=NO_CONTROL_CHARACTERS,
        json_schema_extra={"format": "line"},
    )


class EssayIn(BaseModel):
    """An unsent part's new title and/or blocks (omit one to keep it; not both)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    title: str | None = Field(
        None,
        min_length=1,
        max_length=300,
        pattern=NO_CONTROL_CHARACTERS,
        json_schema_extra={"format": "line"},
    )
    blocks: list[BlockIn] | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _something(self) -> EssayIn:
        if not self.model_fields_set:  # the schema's minProperties: 1
            raise ValueError("give a title, blocks or both")
        return self


class EssayOut(BaseModel):
    series: str
    number: int
    title: str
    blocks: list[dict[str, str]]


class PartIn(BaseModel):
    """One essay to append to a series."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=500_000, json_schema_extra={"format": "essay"})
    format: str = Field("markdown", pattern="^(markdown|plain)$")


class IssueOut(BaseModel):
    id: int
    series: str = Field(description="series slug")
    number: int
    title: str
    status: str = Field(description="scheduled, sending, sent or serial")
    scheduled_at: Utc | None = Field(description="UTC; null in serial mode")
    deliveries: dict[str, int] = Field(description="delivery count per status")


class SeriesDetail(SeriesOut):
    subscriptions: dict[str, int] = Field(description="subscription count per status")
    issues: list[IssueOut]


class SubscriberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None = Field(description="null once erased")
    name: str
    status: str
    source: str
    created_at: Utc
    confirmed_at: Utc | None
    unsubscribed_at: Utc | None


class SubscriptionProgressOut(BaseModel):
    """Where one subscription stands (`newsletter subscribers show` prints the same)."""

    series: str = Field(description="series slug")
    title: str
    mode: str = Field(description="broadcast or serial")
    status: str = Field(description="pending, active, paused, finished, unsubscribed or stopped")
    round: int = Field(description="1, or more once the reader started again from part 1")
    parts: int = Field(description="parts the series has")
    delivered: int = Field(description="parts sent to this reader in the current round")
    next_part: int | None = Field(description="null when no part will come")
    next_due_at: Utc | None = Field(
        description="UTC; null when none is scheduled (e.g. paused until resumed)"
    )
    next_due_local: dt.datetime | None = Field(
        description="the same instant in the reader's zone, with its UTC offset"
    )
    zone: str = Field(description="the reader's own IANA zone, else the series'")
    paused: bool
    paused_until: Utc | None = Field(description="UTC end of a pause; null: until resumed")


class SubscriberDetail(SubscriberOut):
    timezone: str | None = Field(description="the reader's own zone; null: the series'")
    subscriptions: list[SubscriptionProgressOut]


class SubscriberPage(BaseModel):
    items: list[SubscriberOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page")


# What a name may not hold (control characters could break a mail header), said in the
# schema so a client learns it from /openapi.json rather than from a refusal.


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        max_length=320,
        json_schema_extra={"format": "email"},
        description="checked by our address rules too: an address they refuse is a 400",
    )
    name: str = Field(default="", max_length=200, pattern=NO_CONTROL_CHARACTERS)
    # The slug rule, checked here: a NUL in it reached PostgreSQL (which refuses NUL in text)
    # as a 500 before the series look-up could answer 404.
    series: str = Field(pattern=SLUG_PATTERN, description="series slug")


class SubscriberPatch(BaseModel):
    """The one change an operator may make for a person: unsubscribe them from everything."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["unsubscribed"]


class ErasedOut(BaseModel):
    id: int
    deliveries_kept: int = Field(description="deliveries kept, now anonymous")


class SignupOut(BaseModel):
    status: str = Field(description="always check_your_inbox: no address state is revealed")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    issue_id: int
    subscriber_id: int | None
    status: str
    attempts: int
    last_error: str | None = Field(
        description="the last SMTP reply or error, e.g. 'render failed: ValueError: …' for a"
        " part that cannot be rendered"
    )
    created_at: Utc
    sent_at: Utc | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_after_id: int | None


class IssueProgressOut(BaseModel):
    issue_id: int
    series: str
    number: int
    status: str
    counts: dict[str, int]


class RatePoint(BaseModel):
    minute: Utc
    sent: int


class FailureOut(BaseModel):
    delivery_id: int
    issue_id: int
    series: str
    number: int
    subscriber_id: int | None
    status: str
    attempts: int
    reply: str


class StatsOut(BaseModel):
    generated_at: Utc
    paused: bool
    queues: dict[str, int | None] = Field(description="broker queue depth; null if unknown")
    workers: list[str] | None = Field(description="workers answering a ping; null if unknown")
    deliveries: dict[str, int]
    in_flight: int
    subscribers: dict[str, int]
    sent_last_hour: int
    send_rate: list[RatePoint]
    issues: list[IssueProgressOut]
    failures: list[FailureOut]


class AuditEntryOut(BaseModel):
    id: int
    at: Utc
    action: str = Field(description="e.g. series.pause, api.subscribers.signup, user.disable")
    actor_id: int | None = Field(description="the console account; null for the CLI")
    actor_role: str
    auth: str = Field(description="session, token, cli, or password (a sign-in attempt)")
    credential_id: int | None = Field(description="the session or API token row used")
    target: dict[str, int | str | bool] = Field(description="ids and slugs acted on")
    outcome: str = Field(description="ok, refused (4xx) or error (5xx)")
    status: int | None = Field(description="HTTP status, for requests")
    route: str | None = Field(description="method and route template, for requests")
    facts: dict[str, int | str | bool] = Field(description="more, e.g. sessions_ended")


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page")
