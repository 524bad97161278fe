"""Response and request models of /api/v1, so /openapi.json describes every field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: dt.datetime) -> dt.datetime:
    """The database holds naive UTC; the API says so explicitly (RFC 3339 needs an offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Utc = Annotated[dt.datetime, AfterValidator(_as_utc)]


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


class SeriesIn(BaseModel):
    """A series from a plain-text manuscript (see `newsletter content import`)."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")
    manuscript: str = Field(min_length=1, max_length=2_000_000)
    title: str | None = Field(None, max_length=300)
    cadence: str = Field(max_length=100, description="weekly, daily, 'every 3d' or cron")
    start: dt.datetime = Field(description="first send, local wall time in `timezone`")
    timezone: str = Field("UTC", max_length=64)
    mode: str = Field("broadcast", pattern="^(broadcast|serial)$")
    first_part: str = Field("now", pattern="^(now|next-slot)$")
    late_joiners: str = Field("next", pattern="^(next|catch-up)$")
    description: str | None = Field(None, max_length=10_000)


class BlockIn(BaseModel):
    type: str = Field(pattern="^(paragraph|pull_quote)$")
    text: str = Field(min_length=1, max_length=100_000)


class EssayIn(BaseModel):
    """An unsent part's new title and/or blocks (omit one to keep it)."""

    title: str | None = Field(None, min_length=1, max_length=300)
    blocks: list[BlockIn] | None = Field(None, min_length=1, max_length=2_000)


class EssayOut(BaseModel):
    series: str
    number: int
    title: str
    blocks: list[dict[str, str]]


class PartIn(BaseModel):
    """One essay to append to a series."""

    text: str = Field(min_length=1, max_length=1_000_000)
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


class SignupIn(BaseModel):
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    series: str = Field(max_length=100, description="series slug")


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
