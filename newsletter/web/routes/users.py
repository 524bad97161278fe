"""Console sign-in and sign-out, and the /admin start page.

Sign-in is rate-limited per client, answers the same for an unknown email and a wrong
password, and starts a brand-new session (new id, new CSRF token) so a session id planted
before login is worthless afterwards.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.users import service as users
from newsletter.users.models import Role, User
from newsletter.web import csrf, throttle
from newsletter.web.auth import (
    clear_session,
    new_anonymous_session,
    session_user,
    write_session,
)
from newsletter.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return "/admin"


@router.get("/admin/login", tags=["console:public"])
def login_page(request: Request, next: str | None = None) -> Response:
    new_session = new_anonymous_session(request)
    response = render(request, "admin/login.html", {"next": _safe_next(next)})
    if new_session:
        write_session(response, None, new_session)
    return response


@router.post("/admin/login", tags=["console:public"], dependencies=[Depends(csrf.verify)])
def login(
    request: Request,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/admin"),
) -> Response:
    settings = get_settings()
    client = request.client.host if request.client else "unknown"
    throttle.hit("login", client, settings.login_rate_limit, settings.signup_rate_window)
    with transaction() as session:
        user = users.authenticate(session, email, password)
    if user is None:
        log.info("console login failed")
        return render(
            request,
            "admin/login.html",
            {"next": _safe_next(next), "error": "Email or password is not right.", "email": email},
            status_code=401,
        )
    log.info("console login: user %s", user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    write_session(response, user)
    return response


@router.post(
    "/admin/logout",
    tags=["console:any"],
    dependencies=[Depends(session_user), Depends(csrf.verify)],  # who first, then CSRF
)
def logout() -> Response:
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session(response)
    return response


@router.get("/admin", tags=["console:any"])
def start(user: User = Depends(session_user)) -> Response:  # noqa: B008
    """Editors land on their series, operators on the queue."""
    target = "/admin/queue" if user.role == Role.OPERATOR else "/admin/series"
    return RedirectResponse(target, status_code=303)
