"""Response and request models of /api/v1, so /openapi.json describes every field."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _as_utc(value: dt.datetime) -> dt.datetime:
    """The database holds naive UTC; the API says so explicitly (RFC 3339 needs an offset)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Utc = Annotated[dt.datetime, AfterValidator(_as_utc)]


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
    start_at: Utc = Field(description="first send, UTC")


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


class SubscriberPage(BaseModel):
    items: list[SubscriberOut]
    next_after_id: int | None = Field(description="pass as after_id for the next page")


# What a name may not hold (control characters could break a mail header), said in the
# schema so a client learns it from /openapi.json rather than from a refusal.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"


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
