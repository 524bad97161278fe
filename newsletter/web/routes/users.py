"""Console sign-in and sign-out, and the /admin start page.

Sign-in is rate-limited per client and per account (`newsletter.web.lockout`), answers the
same for an unknown email and a wrong password, and starts a brand-new server-side session
(new id, new CSRF token) so a session id planted before login is worthless afterwards.
Sign-out revokes that session row, so a copy of the cookie opens nothing afterwards.
Both go into the audit trail, failures included (with the account's id when it exists).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.core.settings import get_settings
from newsletter.users import admin, queries, sessions
from newsletter.users import service as users
from newsletter.users.audit import Actor, Auth, Outcome, record_action
from newsletter.users.models import Role, User
from newsletter.web import csrf, lockout, throttle
from newsletter.web.api.params import IdPath
from newsletter.web.audit import explicit_actor
from newsletter.web.auth import (
    clear_session,
    new_anonymous_session,
    session_user,
    write_session,
)
from newsletter.web.templating import render

NOT_RIGHT = "Email or password is not right."
LOCKED = "Too many sign-in attempts. Please wait a few minutes and try again."

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
        write_session(response, new_session)
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
    account = users.login_key(email)
    context = {"next": _safe_next(next), "email": email}
    try:
        last_try = lockout.attempt(account)  # before the password is even looked at
    except lockout.AccountLocked as locked:
        response = render(request, "admin/login.html", context | {"error": LOCKED}, 429)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    with transaction() as session:
        user = users.authenticate(session, email, password)
        if user is None:
            _failed(session, email, locked=last_try)
        else:
            row, token = sessions.start(session, user, request.headers.get("user-agent", ""))
            actor = Actor(user.id, user.role, Auth.SESSION, row.id)
            record_action(session, actor, "login", {"user_id": user.id})
    if user is None:
        log.info("console login failed")
        return render(request, "admin/login.html", context | {"error": NOT_RIGHT}, 401)
    lockout.succeeded(account)
    log.info("console login: user %s", user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    write_session(response, token, signed_in=True)
    return response


def _failed(session: Session, email: str, *, locked: bool) -> None:
    """A failed sign-in in the trail: by nobody yet, at the account if it exists, and
    whether it locked the account."""
    target = {"user_id": users.user_id_for_login(session, email)}
    facts = {"locked": True} if locked else {}
    record_action(session, Actor.anonymous(), "login", target, Outcome.REFUSED, **facts)


@router.post(
    "/admin/logout",
    tags=["console:any"],
    dependencies=[Depends(session_user), Depends(csrf.verify)],  # who first, then CSRF
)
def logout(request: Request) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        sessions.revoke(session, request.state.credential_id)
        record_action(session, actor, "logout", {"session_id": request.state.credential_id})
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session(response)
    return response


@router.get("/admin", tags=["console:any"])
def start(user: User = Depends(session_user)) -> Response:  # noqa: B008
    """Editors land on their series, operators on the queue."""
    target = "/admin/queue" if user.role == Role.OPERATOR else "/admin/series"
    return RedirectResponse(target, status_code=303)


# -- your account: sessions, sign out everywhere, password ---------------------------------

account = APIRouter(
    prefix="/admin/account",
    include_in_schema=False,
    tags=["console:any"],
    dependencies=[Depends(session_user)],
)
ACCOUNT_FLASH = {
    "password": "Password changed. Your other sessions have been signed out.",
    "revoked": "That session is signed out.",
}


@account.get("")
def account_page(request: Request, done: str | None = None) -> Response:
    with transaction() as session:
        rows = queries.live_sessions(session, request.state.user.id)
    return render(
        request,
        "admin/account.html",
        {
            "sessions": rows,
            "current": request.state.credential_id,
            "flash": ACCOUNT_FLASH.get(done or ""),
            "section": "account",
        },
    )


@account.post("/password", dependencies=[Depends(csrf.verify)])
def change_password(
    request: Request, current: str = Form(""), password: str = Form(""), confirm: str = Form("")
) -> Response:
    if password != confirm:
        raise UserError("the new password and its repetition differ")
    actor = explicit_actor(request)
    with transaction() as session:
        admin.change_own_password(session, actor, current, password, actor.credential_id)
    return RedirectResponse("/admin/account?done=password", status_code=303)


@account.post("/logout-all", dependencies=[Depends(csrf.verify)])
def logout_everywhere(request: Request) -> Response:
    """Every session of this account ends, this one too."""
    actor = explicit_actor(request)
    with transaction() as session:
        admin.logout_everywhere(session, actor, request.state.user.id)
    response = RedirectResponse("/admin/login", status_code=303)
    clear_session(response)
    return response


@account.post("/sessions/{session_id}/revoke", dependencies=[Depends(csrf.verify)])
def revoke_own_session(request: Request, session_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.end_session(session, actor, session_id, owner_id=request.state.user.id)
    if session_id == request.state.credential_id:
        response = RedirectResponse("/admin/login", status_code=303)
        clear_session(response)
        return response
    return RedirectResponse("/admin/account?done=revoked", status_code=303)
