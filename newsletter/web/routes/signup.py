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
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.core.settings import Settings, get_settings
from newsletter.scheduling import queries
from newsletter.subscribers import service
from newsletter.subscribers.addresses import InvalidAddress, InvalidName
from newsletter.web import throttle
from newsletter.web.errors import (
    FORM_TYPES,
    UnsupportedMediaType,
    has_body,
    is_json,
    media_type,
    wants_json,
)
from newsletter.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Signups run in worker threads, at most `signup_concurrency` at a time per process. Each
# holds one pooled DB connection for its transaction and nothing else (the confirmation is
# a broker publish after commit, not a second transaction), so keeping the limit within
# the pool (5 + 10 overflow) means a burst queues here, never inside the pool.
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def _signup_slots(size: int) -> CapacityLimiter:
    """This event loop's limiter (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(size)
    elif limiter.total_tokens != size:
        limiter.total_tokens = size
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
    """The form fields (or a flat JSON object's strings); a malformed body is a 400, one in
    another format a 415."""
    kind = media_type(request)
    if not (kind in FORM_TYPES or is_json(kind) or not has_body(request)):
        raise UnsupportedMediaType("Send the signup as a form or as a JSON object.")
    if is_json(kind):
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except ValueError as exc:
            raise UserError("the request body is not valid JSON") from exc
        except RecursionError as exc:  # "[[[[…" a hundred thousand deep
            raise UserError("the request body is nested too deeply") from exc
        if not isinstance(body, dict):
            raise UserError("the request body must be a JSON object")
        fields = {k: v for k, v in body.items() if isinstance(v, str)}
    else:
        async with request.form() as form:  # closes any uploaded file's temporary file
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for value in fields.values():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate such as "\ud800" from JSON
            raise UserError("the request holds text that is not valid UTF-8") from exc
    return fields


@router.post("/subscribe")
async def subscribe(request: Request) -> Response:
    """Async on purpose: the blocking part (rate limit, transaction, enqueue) runs in one
    worker-thread hop, and the constant-time padding is awaited here, holding neither a
    thread nor a DB connection."""
    settings = get_settings()
    started = time.monotonic()
    client = request.client.host if request.client else "unknown"
    form = await _read_form(request)
    try:
        await to_thread.run_sync(
            _signup, settings, client, form, limiter=_signup_slots(settings.signup_concurrency)
        )
    except (InvalidAddress, InvalidName) as exc:
        slug = form.get("series", "").strip()
        if wants_json(request):
            return _form_error(request, slug, form, str(exc))
        return await to_thread.run_sync(_form_error, request, slug, form, str(exc))
    remaining = settings.signup_min_seconds - (time.monotonic() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)
    if wants_json(request):
        return JSONResponse(CHECK_INBOX)
    return HTMLResponse(_check_inbox_page(request, settings))


def _signup(settings: Settings, client: str, form: dict[str, str]) -> None:
    """Count the attempt, then start the double opt-in (in a worker thread)."""
    throttle.hit("signup", client, settings.signup_rate_limit, settings.signup_rate_window)
    slug = form.get("series", "").strip()
    if not slug:
        raise UserError("please choose a series to subscribe to")
    if form.get("website"):
        log.info("signup honeypot filled; ignored")  # bots: same answer, nothing stored
        return
    with transaction() as session:
        # A concurrent signup of the same address is handled inside the service.
        service.signup(
            session,
            form.get("email", ""),
            form.get("name", ""),
            slug,
            source="web",
            timezone=form.get("timezone"),
        )


_page_cache: dict[str, Any] = {}


def _check_inbox_page(request: Request, settings: Settings) -> bytes:
    """The "check your inbox" page: the same bytes for every address, rendered once per
    settings object (it depends on nothing from the request)."""
    if _page_cache.get("settings") is not settings:
        page = render(request, "check_inbox.html", {"message": CHECK_INBOX["message"]})
        _page_cache.update(settings=settings, body=bytes(page.body))
    return _page_cache["body"]


ECHO_LIMIT = 320  # the longest valid address; names are shorter still


def _form_error(request: Request, slug: str, form: dict[str, str], message: str) -> Response:
    friendly = message[:1].upper() + message[1:]
    if wants_json(request):
        return JSONResponse({"detail": friendly}, status_code=422)
    # Echo what was typed so it can be fixed, but never more than a field can hold.
    echoed = {key: value[:ECHO_LIMIT] for key, value in form.items()}
    return _landing(request, slug[:ECHO_LIMIT], friendly, echoed)
