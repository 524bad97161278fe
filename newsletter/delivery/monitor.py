"""The operator view: what is waiting, what is in flight, what failed, what is next.

One function, `operator_view()`, gathers it for the /admin dashboard, `newsletter status`
and the /metrics collector, so the three can never disagree. Database figures come from the
delivery ledger and the `mail` outbox (confirmations waiting, failed, and why); broker
figures (queue depth, workers online) are best effort: when the broker cannot be reached
they are reported as unknown (None) instead of failing the page.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from celery import Celery
from kombu import Connection
from sqlalchemy.orm import Session

from newsletter.core.celery_app import app as celery_app
from newsletter.core.celery_app import build_config
from newsletter.core.db import models
from newsletter.core.db.models import (
    DeliveryStatus,
    MailStatus,
    utcnow,
)
from newsletter.core.settings import Settings, get_settings
from newsletter.delivery import brakes, control
from newsletter.delivery.brakes import Braked
from newsletter.delivery.queries import (
    Failure,
    IssueProgress,
    MailTrouble,
    deliveries_by_status,
    issue_progress,
    mail_by_kind,
    mail_troubles,
    recent_failures,
    send_rate,
)
from newsletter.delivery.upcoming import DueSoon, due_soon
from newsletter.subscribers.queries import subscriber_counts

log = logging.getLogger(__name__)

QUEUES = ("transactional", "bulk")
# kombu's Redis transport keeps one list per priority step: "name", "name\x06\x163", ...
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)
WORKER_PING_TIMEOUT = 0.5
WORKER_CACHE_SECONDS = 5.0


@dataclass
class OperatorView:
    generated_at: dt.datetime
    paused: bool
    queues: dict[str, int | None]
    workers: list[str] | None
    deliveries: dict[str, int]
    in_flight: int
    issues: list[IssueProgress]
    send_rate: list[tuple[dt.datetime, int]]
    failures: list[Failure]
    subscribers: dict[str, int] = field(default_factory=dict)
    # One-off mail (the outbox): kind → status → rows, and the troubled ones.
    mail: dict[str, dict[str, int]] = field(default_factory=dict)
    mail_troubles: list[MailTrouble] = field(default_factory=list)
    # Issues their automatic brake holds (bounce or complaint rate), with the reason.
    braked: list[Braked] = field(default_factory=list)
    # What goes out in the next 24 hours, per series and part, soonest first.
    due_soon: list[DueSoon] = field(default_factory=list)

    @property
    def sent_last_hour(self) -> int:
        return sum(count for _, count in self.send_rate)

    @property
    def mail_waiting(self) -> dict[str, int]:
        """Kind → one-off mails not sent yet (pending, queued or sending)."""
        return {
            kind: sum(counts.get(s, 0) for s in MailStatus.OPEN)
            for kind, counts in self.mail.items()
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO times), for `newsletter status --json` and the API."""
        data = asdict(self)
        data["generated_at"] = self.generated_at.isoformat()
        data["send_rate"] = [
            {"minute": minute.isoformat(), "sent": count} for minute, count in self.send_rate
        ]
        for issue in data["issues"]:
            at = issue["scheduled_at"]
            issue["scheduled_at"] = at.isoformat() if at else None
        data["sent_last_hour"] = self.sent_last_hour
        data["mail_waiting"] = self.mail_waiting
        for trouble in data["mail_troubles"]:
            at = trouble["next_attempt_at"]
            trouble["next_attempt_at"] = at.isoformat() if at else None
        for braked in data["braked"]:
            braked["braked_at"] = braked["braked_at"].isoformat()
        for due in data["due_soon"]:
            due["first_due_at"] = due["first_due_at"].isoformat()
        return data


def operator_view(session: Session, *, broker: bool = True) -> OperatorView:
    """Everything the operator dashboard shows, read now."""
    settings = get_settings()
    deliveries = deliveries_by_status(session)
    now = models.utcnow()  # through the module: a test's clock moves it
    return OperatorView(
        generated_at=now,
        paused=sending_paused(session),
        queues=queue_depths(settings) if broker else dict.fromkeys(QUEUES),
        workers=workers_online() if broker else None,
        deliveries=deliveries,
        in_flight=deliveries.get(DeliveryStatus.QUEUED, 0)
        + deliveries.get(DeliveryStatus.SENDING, 0),
        issues=issue_progress(session),
        send_rate=send_rate(session),
        failures=recent_failures(session),
        subscribers=subscriber_counts(session),
        mail=mail_by_kind(session),
        mail_troubles=mail_troubles(session),
        braked=brakes.braked_issues(session),
        due_soon=due_soon(session, now),
    )


def sending_paused(session: Session) -> bool:
    """The global send pause, as the delivery feature's control module keeps it."""
    return control.is_paused(session)


def queue_depths(settings: Settings | None = None) -> dict[str, int | None]:
    """Messages waiting in each broker queue; None when the broker cannot tell us."""
    settings = settings or get_settings()
    url = settings.resolved_broker_url
    try:
        if url.startswith(("redis://", "rediss://")):
            return _redis_queue_depths(url)
        return _kombu_queue_depths()
    except Exception as exc:  # the broker being down must not break the dashboard
        log.warning("queue depth unavailable: %s", type(exc).__name__)
        return dict.fromkeys(QUEUES)


# Set by every tick; a Redis that restarted without persistence (or was flushed) no longer
# has it, and with it went every task message it held.
EPOCH_KEY = "newsletter:broker-epoch"


def broker_forgot(settings: Settings | None = None) -> bool:
    """True when the broker lost its data since the last tick asked (and marks it again).

    A Redis restarted without persistence comes back empty: every `send_batch` and
    `send_mail` message it held is gone, while their rows stay `queued`. Waiting
    NEWSLETTER_REPUBLISH_AFTER to call them lost would delay a whole issue by a minute;
    this marker tells the tick at once. One `SET NX` per tick; False for other
    transports and when Redis cannot be reached (nothing can be published then anyway).
    """
    settings = settings or get_settings()
    url = settings.resolved_broker_url
    if not url.startswith(("redis://", "rediss://")):
        return False
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.set(EPOCH_KEY, utcnow().isoformat(), nx=True))
    except Exception as exc:
        log.warning("broker epoch unavailable: %s", type(exc).__name__)
        return False
    finally:
        client.close()


def _redis_queue_depths(url: str) -> dict[str, int | None]:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        with client.pipeline() as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
                for step in _REDIS_PRIORITY_STEPS:
                    pipe.llen(f"{queue}{_REDIS_PRIORITY_SEP}{step}")
            sizes = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(_REDIS_PRIORITY_STEPS)
    return {q: int(sum(sizes[i * per_queue : (i + 1) * per_queue])) for i, q in enumerate(QUEUES)}


def _kombu_queue_depths() -> dict[str, int | None]:
    """Any other transport (e.g. the embedded filesystem broker): ask kombu."""
    settings = get_settings()
    options = build_config(settings)["broker_transport_options"]
    depths: dict[str, int | None] = {}
    with Connection(settings.resolved_broker_url, transport_options=options) as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            try:
                depths[queue] = int(channel.queue_declare(queue, passive=True).message_count)
            except Exception:  # a queue nobody declared yet holds nothing
                depths[queue] = 0
    return depths


_workers_cache: tuple[float, list[str] | None] = (0.0, None)
_workers_lock = threading.Lock()


def workers_online(timeout: float = WORKER_PING_TIMEOUT) -> list[str] | None:
    """Host names of the Celery workers answering a ping; None when unknown.

    A ping costs `timeout` seconds, so answers are cached briefly: a dashboard refresh and a
    Prometheus scrape in the same few seconds share one ping.
    """
    global _workers_cache
    with _workers_lock:
        at, cached = _workers_cache
        if time.monotonic() - at < WORKER_CACHE_SECONDS:
            return cached
        result: list[str] | None = None
        try:
            replies = _celery_app().control.ping(timeout=timeout) or []
            result = sorted(name for reply in replies for name in reply)
        except Exception as exc:
            log.warning("worker ping failed: %s", type(exc).__name__)
        _workers_cache = (time.monotonic(), result)
        return result


def _celery_app() -> Celery:
    """The app whose workers are pinged (tests swap in one bound to their own broker)."""
    return celery_app


def ping_broker() -> None:
    """Raise unless the broker answers (for /healthz), over its own short-lived connection."""
    url = get_settings().resolved_broker_url
    if url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return
    options = build_config(get_settings())["broker_transport_options"]
    with Connection(url, transport_options=options) as conn:  # its own, short-lived
        conn.ensure_connection(max_retries=1, timeout=2)
