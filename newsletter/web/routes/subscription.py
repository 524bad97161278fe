"""The pages behind the links in our mail: confirm, unsubscribe and manage (with a serial
reader's progress, their controls and their time zone; the controls are `reader`).

The signed token in the URL is the credential, so these forms carry no CSRF token and need
no cookie. GET never changes anything, because mail scanners follow links; every change is
a POST. `POST /unsubscribe/{token}` is also the RFC 8058 one-click target, and it answers
"unsubscribed" however often it is called; `POST /confirm/{token}` answers "subscribed"
however often it is called.

`GET /confirm/{token}` shows one button. A small script (static/confirm.js) presses it for
people with JavaScript on, once the page is really visible (not prerendered); scanners that
only fetch the page never run it, and without JavaScript the button works as it is. A POST
that a browser labels as coming from another site (Sec-Fetch-Site) confirms nothing: it gets
the button page without the script, so only a person's press on our own page counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from newsletter.core.db.session import transaction
from newsletter.core.errors import InvalidToken
from newsletter.core.tokens import ExpiredToken, Purpose, read_token
from newsletter.scheduling.queries import series_title, welcome
from newsletter.subscribers import queries, reading, service
from newsletter.subscribers.lifecycle import ChangeResult
from newsletter.web.api.params import MAX_ID
from newsletter.web.errors import answer
from newsletter.web.routes.reader import controls
from newsletter.web.templating import render

router = APIRouter(include_in_schema=False)


def _token_problem(request: Request, exc: InvalidToken, purpose: str) -> Response:
    if isinstance(exc, ExpiredToken):
        message = "This confirmation link has expired. Sign up again and we will send a new one."
    elif purpose == "confirm":
        message = "This confirmation link is not valid any more. You can simply sign up again."
    else:
        message = "This link is not valid. Please use the link from your most recent email."
    return answer(request, 400, message, signup_again=True)


_OTHER_SITE = {"cross-site", "same-site"}


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str) -> Response:
    return _confirm_page(request, token, auto=True)


@router.post("/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    if request.headers.get("sec-fetch-site", "").lower() in _OTHER_SITE:
        return _confirm_page(request, token, auto=False)
    return _act(request, token, "confirm", service.confirm, "confirmed.html")


def _confirm_page(request: Request, token: str, *, auto: bool) -> Response:
    try:
        data = read_token(token, "confirm")
    except InvalidToken as exc:
        return _token_problem(request, exc, "confirm")
    with transaction() as session:
        title = series_title(session, data.series_id)
    return render(request, "confirm.html", {"token": token, "series_title": title, "auto": auto})


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    try:
        data = read_token(token, "unsubscribe")
    except InvalidToken as exc:
        return _token_problem(request, exc, "unsubscribe")
    with transaction() as session:
        title = series_title(session, data.series_id)
    return render(request, "unsubscribe.html", {"token": token, "series_title": title})


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str) -> Response:
    """One click, from a page or a mail client (body `List-Unsubscribe=One-Click`)."""
    return _act(request, token, "unsubscribe", service.unsubscribe, "unsubscribed.html")


def _act(
    request: Request,
    token: str,
    purpose: Purpose,
    change: Callable[[Session, str], ChangeResult],
    template: str,
) -> Response:
    """Apply a token's change and show its page; a bad token gets the problem page."""
    try:
        with transaction() as session:
            result = change(session, token)
            title = series_title(session, result.series_id)
            # What a new reader may be promised: part 1 now, or the archive of what they
            # missed (never "on schedule" for parts that will not come).
            greeting = welcome(session, result.series_id) if purpose == "confirm" else None
    except InvalidToken as exc:
        return _token_problem(request, exc, purpose)
    return render(request, template, {"series_title": title, "welcome": greeting})


def _manage_subscriber(token: str, purpose: Purpose = "manage") -> int:
    return read_token(token, purpose).subscriber_id


@router.get("/manage/{token}")
def manage(request: Request, token: str, done: str | None = None) -> Response:
    try:
        subscriber_id = _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    with transaction() as session:
        context = queries.manage_page(session, subscriber_id)
        views = {} if context is None else reading.reader_views(session, subscriber_id)
    if context is None:
        return render(request, "erased.html", {"already": True})
    reader = {
        series_id: {"view": view, "links": controls(subscriber_id, series_id)}
        for series_id, view in views.items()
    }
    return render(
        request, "manage.html", {"token": token, "done": done, "reader": reader, **context}
    )


@router.post("/manage/{token}/timezone")
def manage_timezone(request: Request, token: str, timezone: str = Form("")) -> Response:
    """The reader's own zone: their parts arrive at the series' local time there."""
    try:
        subscriber_id = _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    with transaction() as session:
        reading.set_timezone(session, subscriber_id, timezone[:64])
    return RedirectResponse(f"/manage/{token}?done=timezone", status_code=303)


@router.post("/manage/{token}/export")
def export(request: Request, token: str) -> Response:
    try:
        subscriber_id = _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    with transaction() as session:
        data = service.export(session, subscriber_id)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-newsletter-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/manage/{token}/erase")
def erase_page(request: Request, token: str) -> Response:
    try:
        _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    return render(request, "erase.html", {"token": token})


@router.post("/manage/{token}/erase")
def erase(request: Request, token: str, confirm: str = Form("")) -> Response:
    try:
        subscriber_id = _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    if confirm != "erase":
        return RedirectResponse(f"/manage/{token}/erase", status_code=303)
    with transaction() as session:
        if queries.present_subscriber(session, subscriber_id) is not None:
            service.erase(session, subscriber_id)
    return render(request, "erased.html", {"already": False})


_ACTIONS = {
    "pause": (service.pause_subscription, "paused"),
    "resume": (service.resume_subscription, "resumed"),
    "leave": (
        lambda session, subscriber_id, series_id: service.unsubscribe_subscriber(
            session, subscriber_id, series_id, via="manage"
        ),
        "left",
    ),
}


@router.post("/manage/{token}/{action}")
def manage_action(  # registered last: /export and /erase match first
    request: Request, token: str, action: str, series_id: Annotated[int, Form(ge=1, le=MAX_ID)]
) -> Response:
    if action not in _ACTIONS:
        return answer(request, 404, "There is nothing at this address.")
    try:
        subscriber_id = _manage_subscriber(token)
    except InvalidToken as exc:
        return _token_problem(request, exc, "manage")
    change, done = _ACTIONS[action]
    with transaction() as session:
        change(session, subscriber_id, series_id)
    return RedirectResponse(f"/manage/{token}?done={done}", status_code=303)
