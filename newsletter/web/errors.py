"""Turning exceptions into answers: friendly pages for people, JSON for programs.

`UserError` becomes its 4xx with its one-line message; anything unexpected becomes a plain
500 page. Logs name the route template (never the raw path, which may hold a token) and the
exception type (never its message, which may hold an address).
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import quote

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from newsletter.core.errors import UserError
from newsletter.web.auth import AuthRequired, Forbidden
from newsletter.web.csrf import CsrfError
from newsletter.web.templating import render
from newsletter.web.throttle import RateLimited

log = logging.getLogger(__name__)

_TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Already done",
    413: "Too much at once",
    415: "That did not work",
    422: "Please check the form",
    429: "Slow down a little",
    500: "Something went wrong on our side",
    503: "Temporarily unavailable",
}


class UnsupportedMediaType(UserError):
    """A body in a format the route does not read: 415, naming the one it does."""

    http_status = 415


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SEND_FORM = "Send this as a form (application/x-www-form-urlencoded or multipart/form-data)."
_SEND_JSON = "Send this as JSON (Content-Type: application/json)."


def media_type(request: Request) -> str:
    """The request's Content-Type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def has_body(request: Request) -> bool:
    """Whether the client sent a body at all (an empty form is not a format mistake)."""
    headers = request.headers
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def is_json(kind: str) -> bool:
    """application/json, or a JSON-based type such as application/merge-patch+json."""
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    content_type = request.headers.get("content-type", "")
    return ("application/json" in accept and "text/html" not in accept) or (
        content_type.startswith("application/json") and "text/html" not in accept
    )


def route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "?")


MESSAGE_LIMIT = 400  # a one-line message; one that quotes a huge input is cut short
ERRORS_SHOWN = 20  # of a request's validation errors


def answer(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    signup_again: bool = False,
) -> Response:
    """The error page (or JSON body) every handler below uses."""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    response = render(
        request,
        "error.html",
        {
            "status": status,
            "title": _TITLES.get(status, "That did not work"),
            "message": message,
            "signup_again": signup_again,
        },
        status_code=status,
    )
    response.headers.update(headers or {})
    return response


def _safe_next(path: str) -> str:
    return path if path.startswith("/admin") and not path.startswith("//") else "/admin"


async def _auth_required(request: Request, exc: AuthRequired) -> Response:
    browser_get = request.method in ("GET", "HEAD") and not wants_json(request)
    if exc.scheme == "session" and browser_get:
        target = _safe_next(request.url.path)
        return RedirectResponse(f"/admin/login?next={quote(target)}", status_code=303)
    challenge = "Bearer" if exc.scheme == "bearer" else 'Cookie realm="console"'
    return answer(request, 401, "Please sign in first.", {"WWW-Authenticate": challenge})


async def _forbidden(request: Request, exc: Forbidden) -> Response:
    return answer(request, 403, "Your account's role does not allow this.")


async def _csrf(request: Request, exc: CsrfError) -> Response:
    return answer(request, 403, "This form has expired. Please reload the page and try again.")


async def _rate_limited(request: Request, exc: RateLimited) -> Response:
    return answer(
        request,
        429,
        "Too many attempts from your network. Please wait a few minutes and try again.",
        {"Retry-After": str(exc.retry_after)},
    )


async def _user_error(request: Request, exc: UserError) -> Response:
    return answer(request, exc.http_status, str(exc))


_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's 405 names only the first
    route's (GET of a path that also takes POST), which misleads a client (RFC 9110 15.5.6)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    message = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
    if exc.status_code == 404 and message == "Not Found":
        message = "There is nothing at this address."
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return answer(request, exc.status_code, message, headers)


def _wrong_media_type(request: Request) -> str | None:
    """Why a body failed validation when it came in a format the route does not read (the
    route's body is a form or a JSON model); None when the format was right."""
    field = getattr(request.scope.get("route"), "body_field", None)
    if field is None or not has_body(request):
        return None
    kind = media_type(request)
    if isinstance(field.field_info, params.Form):
        return None if kind in FORM_TYPES else _SEND_FORM
    return None if is_json(kind) else _SEND_JSON


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    wrong_type = _wrong_media_type(request)
    if wrong_type:
        return answer(request, 415, wrong_type)
    if wants_json(request):
        # Where, what and why, never the input; bounded, as a location can hold a client's key.
        errors = [
            {
                "loc": [part if isinstance(part, int) else str(part)[:100] for part in e["loc"]],
                "msg": str(e.get("msg", ""))[:200],
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()[:ERRORS_SHOWN]
        ]
        return JSONResponse({"detail": errors}, status_code=422)
    return answer(request, 400, "Some of the submitted values were not valid.")


def unexpected(request: Request, exc: Exception) -> Response:
    """Log a bug without its message (which may quote an address) and answer a plain 500."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "unhandled %s on %s %s\n%s", type(exc).__name__, request.method, route_name(request), frames
    )
    return answer(request, 500, "Please try again in a moment.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AuthRequired, _auth_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfError, _csrf)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
