"""The reader's controls behind the links in every serial mail: next part now, pause for a
while (or resume), start again.

As with unsubscribe, the signed token in the URL is the credential (one purpose per
control), GET only shows a page with one button, because mail scanners follow links, and
the POST acts. Each form carries the state its page showed (the part offered, the round
read), and the change is a conditional UPDATE on that state, so pressing twice or posting
from two tabs does it once; the second press gets the same page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db import models
from newsletter.core.db.session import transaction
from newsletter.core.errors import InvalidToken
from newsletter.core.tokens import Purpose, TokenData, make_token, read_token
from newsletter.delivery.fanout import release_next
from newsletter.subscribers import reading, service
from newsletter.web.errors import answer
from newsletter.web.templating import render

router = APIRouter(include_in_schema=False)

# The pause lengths offered, in weeks; 0 means "until I resume".
PAUSE_WEEKS = (1, 2, 4, 0)


def controls(subscriber_id: int, series_id: int) -> dict[str, str]:
    """The control pages' paths for one reader and series (the manage page links them)."""
    return {
        purpose: f"/{purpose}/{make_token(purpose, subscriber_id, series_id)}"
        for purpose in ("next", "pause", "restart")
    }


def _token(token: str, purpose: Purpose) -> TokenData | None:
    try:
        data = read_token(token, purpose)
    except InvalidToken:
        return None
    return data if data.series_id is not None else None


def _count(value: str, least: int = 1) -> int | None:
    """A small whole number from a form field (a part, a round, weeks), else None."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        return None
    number = int(value)
    return number if number >= least else None


def _bad_link(request: Request) -> Response:
    return answer(
        request, 400, "This link is not valid. Please use the link from your most recent email."
    )


def _page(request: Request, token: str, purpose: Purpose, done: str | None = None) -> Response:
    data = _token(token, purpose)
    if data is None:
        return _bad_link(request)
    assert data.series_id is not None
    with transaction() as session:
        view = reading.reader_view(session, data.subscriber_id, data.series_id)
    context: dict[str, Any] = {
        "token": token,
        "purpose": purpose,
        "view": view,
        "done": done,
        "weeks": PAUSE_WEEKS,
    }
    return render(request, "reader.html", context)


def _acted(token: str, purpose: Purpose, done: str) -> Response:
    return RedirectResponse(f"/{purpose}/{token}?done={done}", status_code=303)


@router.get("/next/{token}")
def next_page(request: Request, token: str, done: str | None = None) -> Response:
    return _page(request, token, "next", done)


@router.post("/next/{token}")
def next_now(request: Request, token: str, part: str = Form("")) -> Response:
    """Release the part the page offered; a repeat finds it gone and says it is on its way."""
    data, number = _token(token, "next"), _count(part)
    if data is None:
        return _bad_link(request)
    if number is None:
        return answer(request, 400, "Please use the button on the page.")
    assert data.series_id is not None
    with transaction() as session:
        release_next(session, data.subscriber_id, data.series_id, number, models.utcnow())
    return _acted(token, "next", f"sent-{number}")


@router.get("/pause/{token}")
def pause_page(request: Request, token: str, done: str | None = None) -> Response:
    return _page(request, token, "pause", done)


@router.post("/pause/{token}")
def pause(request: Request, token: str, weeks: str = Form("0")) -> Response:
    data, count = _token(token, "pause"), _count(weeks, 0)
    if data is None:
        return _bad_link(request)
    if count not in PAUSE_WEEKS:
        return answer(request, 400, "Please choose how long to pause for.")
    assert data.series_id is not None
    with transaction() as session:
        service.pause_subscription(session, data.subscriber_id, data.series_id, count or None)
    return _acted(token, "pause", "paused")


@router.post("/pause/{token}/resume")
def resume(request: Request, token: str) -> Response:
    data = _token(token, "pause")
    if data is None:
        return _bad_link(request)
    assert data.series_id is not None
    with transaction() as session:
        service.resume_subscription(session, data.subscriber_id, data.series_id)
    return _acted(token, "pause", "resumed")


@router.get("/restart/{token}")
def restart_page(request: Request, token: str, done: str | None = None) -> Response:
    return _page(request, token, "restart", done)


@router.post("/restart/{token}")
def restart(request: Request, token: str, round: str = Form("")) -> Response:
    """Start again from part 1 as a new round; a repeat finds the round moved on."""
    data, number = _token(token, "restart"), _count(round)
    if data is None:
        return _bad_link(request)
    if number is None:
        return answer(request, 400, "Please use the button on the page.")
    assert data.series_id is not None
    with transaction() as session:
        reading.restart(session, data.subscriber_id, data.series_id, number)
    return _acted(token, "restart", "restarted")
