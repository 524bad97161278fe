"""The admins' console for accounts: list them, disable and enable, set a password, end
sessions, revoke API tokens.

Every change goes through `newsletter.users.admin`, which enforces the rules (the last
enabled admin stays enabled; disabling and a new password end sessions at once) and writes
the audit entry with the acting admin. The pages never show a secret: sessions and tokens
appear by id, times and state only.
"""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.users import admin, queries
from newsletter.users.models import Role
from newsletter.web import csrf
from newsletter.web.api.params import IdPath
from newsletter.web.audit import explicit_actor
from newsletter.web.auth import clear_session, console_router
from newsletter.web.templating import render

router = console_router("/admin/users", Role.ADMIN)
FLASH = {
    "disabled": "Account disabled. Its sessions ended and its API tokens stopped working.",
    "enabled": "Account enabled. It can sign in again.",
    "password": "Password set. Every session of the account has been signed out.",
    "logout": "Every session of the account has been signed out.",
    "session": "That session is signed out.",
    "token": "Token revoked.",
}


@router.get("")
def user_list(request: Request) -> Response:
    with transaction() as session:
        rows = queries.summaries(session)
    return render(request, "admin/users.html", {"users": rows, "section": "users"})


@router.get("/{user_id}")
def user_detail(request: Request, user_id: IdPath, done: str | None = None) -> Response:
    with transaction() as session:
        account = queries.user_by_id(session, user_id)
        context = {
            "account": account,
            "sessions": queries.live_sessions(session, user_id),
            "tokens": queries.tokens_of(session, user_id),
        }
    return render(
        request,
        "admin/user.html",
        context | {"flash": FLASH.get(done or ""), "section": "users"},
    )


def _done(request: Request, user_id: int, what: str) -> Response:
    """Back to the account's page; to sign-in if the admin just ended their own session."""
    if what in ("disabled", "password", "logout") and user_id == request.state.user.id:
        response = RedirectResponse("/admin/login", status_code=303)
        clear_session(response)
        return response
    return RedirectResponse(f"/admin/users/{user_id}?done={what}", status_code=303)


@router.post("/{user_id}/disable", dependencies=[Depends(csrf.verify)])
def disable(request: Request, user_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.disable(session, actor, user_id)
    return _done(request, user_id, "disabled")


@router.post("/{user_id}/enable", dependencies=[Depends(csrf.verify)])
def enable(request: Request, user_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.enable(session, actor, user_id)
    return _done(request, user_id, "enabled")


@router.post("/{user_id}/password", dependencies=[Depends(csrf.verify)])
def set_password(
    request: Request, user_id: IdPath, password: str = Form(""), confirm: str = Form("")
) -> Response:
    if password != confirm:
        raise UserError("the new password and its repetition differ")
    actor = explicit_actor(request)
    with transaction() as session:
        admin.set_password(session, actor, user_id, password)
    return _done(request, user_id, "password")


@router.post("/{user_id}/logout-all", dependencies=[Depends(csrf.verify)])
def logout_all(request: Request, user_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.logout_everywhere(session, actor, user_id)
    return _done(request, user_id, "logout")


@router.post("/{user_id}/sessions/{session_id}/revoke", dependencies=[Depends(csrf.verify)])
def revoke_session(request: Request, user_id: IdPath, session_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.end_session(session, actor, session_id, owner_id=user_id)
    if session_id == request.state.credential_id:
        return _done(request, user_id, "logout")
    return _done(request, user_id, "session")


@router.post("/{user_id}/tokens/{token_id}/revoke", dependencies=[Depends(csrf.verify)])
def revoke_token(request: Request, user_id: IdPath, token_id: IdPath) -> Response:
    actor = explicit_actor(request)
    with transaction() as session:
        admin.revoke_token(session, actor, token_id, owner_id=user_id)
    return _done(request, user_id, "token")
