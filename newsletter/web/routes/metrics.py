"""Probes: `GET /metrics` for Prometheus and `GET /healthz` for the orchestrator.

The metrics come from a custom collector on the app's own registry that reads the database
and the broker at scrape time, through the same `operator_view()` as the dashboard, so they
are correct across any number of web and worker processes (no per-process counters).

They include subscriber counts, so /metrics is not public. On the public app it answers only
`Authorization: Bearer $NEWSLETTER_METRICS_TOKEN`, and 404 when no token is set (there is
nothing there for anyone). `NEWSLETTER_METRICS_BIND` serves `private_router` on an address of
the admin's choosing instead (`web.serve`); it asks for the token too when one is set.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import text

from newsletter.core.db.session import get_engine, transaction
from newsletter.core.settings import get_settings
from newsletter.delivery import monitor
from newsletter.web.errors import answer

log = logging.getLogger(__name__)
router = APIRouter()
private_router = APIRouter(include_in_schema=False)


def _by_label(
    name: str, documentation: str, label: str, values: Mapping[str, int | None]
) -> GaugeMetricFamily:
    """One gauge per key; unknown values (None, e.g. a broker that did not answer) are left out."""
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for key, n in values.items():
        if n is not None:
            gauge.add_metric([key], n)
    return gauge


class NewsletterCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        with transaction() as session:
            view = monitor.operator_view(session)
        yield _by_label(
            "newsletter_queue_depth", "Messages waiting in a broker queue", "queue", view.queues
        )
        yield _by_label(
            "newsletter_deliveries", "Delivery rows by status", "status", view.deliveries
        )
        yield GaugeMetricFamily(
            "newsletter_deliveries_in_flight", "Deliveries queued or sending", value=view.in_flight
        )
        yield GaugeMetricFamily(
            "newsletter_sent_last_hour",
            "Messages sent in the last 60 minutes",
            value=view.sent_last_hour,
        )
        last = view.send_rate[-2][1] if len(view.send_rate) > 1 else 0
        yield GaugeMetricFamily(
            "newsletter_send_rate_per_minute", "Messages sent in the last full minute", value=last
        )
        if view.workers is not None:
            yield GaugeMetricFamily(
                "newsletter_workers_online",
                "Celery workers answering a ping",
                value=len(view.workers),
            )
        yield GaugeMetricFamily(
            "newsletter_sending_paused",
            "1 while an operator has paused sending",
            value=int(view.paused),
        )
        outbox = GaugeMetricFamily(
            "newsletter_outbox",
            "One-off mail rows (confirmations) by kind and status",
            labels=["kind", "status"],
        )
        for kind, counts in view.mail.items():
            for status, n in counts.items():
                outbox.add_metric([kind, status], n)
        yield outbox
        braked = GaugeMetricFamily(
            "newsletter_issue_braked",
            "1 for each issue its automatic brake holds (bounce or complaint rate)",
            labels=["series", "issue", "reason"],
        )
        for b in view.braked:
            braked.add_metric([b.series_slug, str(b.number), b.reason], 1)
        yield braked
        yield _by_label(
            "newsletter_subscribers", "Subscribers by status", "status", view.subscribers
        )
        yield GaugeMetricFamily(
            "newsletter_signups",
            "Subscribers ever signed up (kept after erasure as counts)",
            value=sum(view.subscribers.values()),
        )


registry = CollectorRegistry(auto_describe=False)
registry.register(NewsletterCollector())


def _bearer_matches(request: Request, expected: str) -> bool:
    """Constant-time, so the answer time says nothing about how much of a guess was right."""
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        sent.strip().encode("utf-8", "surrogateescape"), expected.encode()
    )


def _scrape(request: Request, *, open_without_token: bool) -> Response:
    token = get_settings().metrics_token
    if token is None and not open_without_token:
        return answer(request, 404, "There is nothing at this address.")
    if token is not None and not _bearer_matches(request, token.get_secret_value()):
        return answer(
            request, 401, "Metrics need the scrape token.", {"WWW-Authenticate": "Bearer"}
        )
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return _scrape(request, open_without_token=False)


@private_router.get("/metrics")
def private_metrics(request: Request) -> Response:
    """On NEWSLETTER_METRICS_BIND, whose address is the protection when there is no token."""
    return _scrape(request, open_without_token=True)


class Health(BaseModel):
    status: str
    database: str
    broker: str


@router.get(
    "/healthz",
    response_model=Health,
    tags=["probes"],
    responses={503: {"model": Health, "description": "database or broker unreachable"}},
)
def healthz() -> Response:
    """200 when the database and the broker both answer, else 503 naming the failing one."""
    database = _check(_database_ok)
    broker = _check(monitor.ping_broker)
    healthy = database == "ok" and broker == "ok"
    body = Health(status="ok" if healthy else "unavailable", database=database, broker=broker)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def _check(probe: Callable[[], None]) -> str:
    try:
        probe()
    except Exception as exc:
        log.warning("health check %s failed: %s", probe.__name__, type(exc).__name__)
        return "unavailable"
    return "ok"


def _database_ok() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))
