"""The start page, series landing pages and the signup form.

`POST /subscribe` must not tell anyone whether an address is already known: new, pending,
active, unsubscribed and suppressed addresses all get the same status and the same body,
and the answer is held back to a fixed minimum time so that the extra work for a new
address (insert, confirmation mail) does not show in the timing either. Only a
syntactically invalid address gets a different answer (that reveals nothing about anyone).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from typing import Any

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from newsletter.db.session import transaction
from newsletter.errors import UserError
from newsletter.subscribers import service
from newsletter.subscribers.addresses import InvalidAddress, InvalidName
from newsletter.web import queries, ratelimit
from newsletter.web.config import get_web_settings
from newsletter.web.errors import wants_json
from newsletter.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Signups run at most this many at a time per process. Each may hold two pooled database
# connections at once (its own, and the confirmation's after-commit read), so this stays
# below half the pool (5 + 10 overflow): a burst queues here instead of starving the pool.
SIGNUP_CONCURRENCY = 6
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _db_slots() -> CapacityLimiter:
    """This event loop's limiter (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(SIGNUP_CONCURRENCY)
    return limiter


CHECK_INBOX = {
    "status": "check_your_inbox",
    "message": "If this address can subscribe, a confirmation link is on its way. "
    "Please check your inbox.",
}


@router.get("/")
def home(request: Request) -> Response:
    with transaction() as session:
        series = queries.open_series(session)
    return render(request, "home.html", {"series": series})


@router.get("/s/{slug}")
def landing(request: Request, slug: str) -> Response:
    return _landing(request, slug)


def _landing(
    request: Request, slug: str, error: str | None = None, form: dict[str, str] | None = None
) -> Response:
    with transaction() as session:
        series = queries.series_by_slug(session, slug)
        parts = queries.parts(session, series)
    return render(
        request,
        "series.html",
        {"series": series, "parts": parts, "error": error, "form": form or {}},
        status_code=422 if error else 200,
    )


@router.get("/s/{slug}/{number}")
def web_version(slug: str, number: int) -> Response:
    """The `web_url` in mail points here; the archive is the canonical place."""
    return RedirectResponse(f"/archive/{slug}/{number}", status_code=308)


async def _read_form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise UserError("the request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise UserError("the request body must be a JSON object")
        return {k: v for k, v in body.items() if isinstance(v, str)}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/subscribe")
async def subscribe(request: Request) -> Response:
    settings = get_web_settings()
    started = time.monotonic()
    client = request.client.host if request.client else "unknown"
    ratelimit.hit("signup", client, settings.signup_rate_limit, settings.signup_rate_window)
    form = await _read_form(request)
    slug = form.get("series", "").strip()
    if not slug:
        raise UserError("please choose a series to subscribe to")
    if form.get("website"):
        log.info("signup honeypot filled; ignored")  # bots: same answer, nothing stored
    else:
        try:
            await to_thread.run_sync(
                _signup, form.get("email", ""), form.get("name", ""), slug, limiter=_db_slots()
            )
        except (InvalidAddress, InvalidName) as exc:
            return _form_error(request, slug, form, str(exc))
    remaining = settings.signup_min_seconds - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    if wants_json(request):
        return JSONResponse(CHECK_INBOX)
    return render(request, "check_inbox.html", {"message": CHECK_INBOX["message"]})


def _signup(email: str, name: str, slug: str) -> None:
    """One signup; a concurrent signup of the same new address makes the first try lose the
    insert race (unique email_key), and the retry then finds the row like any repeat signup."""
    for attempt in (1, 2):
        try:
            with transaction() as session:
                result = service.signup(session, email, name, slug, source="web")
            break
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("signup raced another for the same address; retrying")
    log.info("signup for series %s handled (subscriber %s)", result.series_id, result.subscriber_id)


def _form_error(request: Request, slug: str, form: dict[str, str], message: str) -> Response:
    friendly = message[:1].upper() + message[1:]
    if wants_json(request):
        return JSONResponse({"detail": friendly}, status_code=422)
    return _landing(request, slug, friendly, form)
