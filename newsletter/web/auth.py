"""Who is asking: console sessions and API bearer tokens, and their roles.

The console session cookie is signed and timestamped and holds a random session id (the
CSRF token is bound to it). Before sign-in that id is anonymous; sign-in replaces it with
the token of a `web_session` row (`newsletter.users.sessions`), which every request looks
up. So signing out, a password change, disabling the account or "sign out everywhere"
end a session at its next request, however long its cookie would still have lasted.
HTML GETs without a session are redirected to the login page; everything else gets a plain
401 (see `newsletter.web.errors`).

Whoever is found is left on `request.state` (`user`, `auth`, `credential_id`) for the
audit trail (`newsletter.web.audit`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.users import service as users
from newsletter.users import sessions
from newsletter.users.audit import Auth
from newsletter.users.models import User

COOKIE = "nl_session"


class AuthRequired(Exception):
    """No valid credentials: 401, or a redirect to the login page for browsers."""

    def __init__(self, scheme: str = "session") -> None:
        super().__init__(scheme)
        self.scheme = scheme


class Forbidden(Exception):
    """Valid credentials, but the role does not allow this."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret(), salt="newsletter.web.session")


def secure_cookies() -> bool:
    """Cookies get `Secure` whenever the public URL is https."""
    return get_settings().base_url.startswith("https://")


def read_session(request: Request) -> dict[str, Any]:
    """The verified session cookie's payload ({} when absent, forged or expired)."""
    cached = getattr(request.state, "cookie_payload", None)
    if cached is not None:
        return cached
    data: dict[str, Any] = {}
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            loaded = _serializer().loads(raw, max_age=get_settings().session_max_age)
            if isinstance(loaded, dict):
                data = loaded
        except BadData:
            data = {}
    request.state.cookie_payload = data
    if data.get("sid"):
        request.state.session_id = data["sid"]
    return data


def write_session(response: Response, session_id: str, *, signed_in: bool = False) -> None:
    """Set the cookie: an anonymous id, or (`signed_in`) a `web_session` token from sign-in,
    which is always new, so an id planted before sign-in is worthless after it."""
    payload: dict[str, Any] = {"sid": session_id}
    if signed_in:
        payload["in"] = 1
    response.set_cookie(
        COOKIE,
        _serializer().dumps(payload),
        max_age=get_settings().session_max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
        path="/",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies())


def new_anonymous_session(request: Request) -> str | None:
    """For the login form: a session id to set when the visitor has none yet (else None).

    The CSRF token for the new id is available to templates at once (`csrf.request_token`);
    the caller sets the cookie on its response with `write_session(response, session_id)`.
    """
    if read_session(request).get("sid"):
        return None
    session_id = secrets.token_urlsafe(18)
    request.state.session_id = session_id
    return session_id


def session_user(request: Request) -> User:
    """The signed-in console user of a live session; raises `AuthRequired`."""
    if getattr(request.state, "auth", None) == Auth.SESSION:
        return request.state.user
    data = read_session(request)
    token = data.get("sid")
    if not data.get("in") or not isinstance(token, str):
        raise AuthRequired()
    with transaction() as session:
        found = sessions.resolve(session, token)
    if found is None:
        raise AuthRequired()
    row, user = found
    _identify(request, user, Auth.SESSION, row.id)
    return user


def bearer_user(request: Request) -> User:
    """The API user behind `Authorization: Bearer <token>`; raises `AuthRequired`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRequired("bearer")
    with transaction() as session:
        row = users.token_for(session, token.strip())
        user = row.user if row is not None else None
    if row is None or user is None:
        raise AuthRequired("bearer")
    _identify(request, user, Auth.TOKEN, row.id)
    return user


def _identify(request: Request, user: User, auth: str, credential_id: int) -> None:
    request.state.user = user
    request.state.auth = auth
    request.state.credential_id = credential_id


def _role_check(role: str, who: Callable[..., User], kind: str) -> Callable[..., User]:
    """A dependency: the user `who` finds, if they hold `role` (else `Forbidden`)."""

    def dependency(user: User = Depends(who)) -> User:  # noqa: B008
        if not users.has_role(user, role):
            raise Forbidden()
        return user

    dependency.__name__ = f"require_{kind}{role}"
    return dependency


def require_role(role: str) -> Callable[..., User]:
    """Console routes: a logged-in session user holding `role`."""
    return _role_check(role, session_user, "")


def require_api_role(role: str) -> Callable[..., User]:
    """API routes: a bearer-token user holding `role`."""
    return _role_check(role, bearer_user, "api_")


def console_router(prefix: str, role: str) -> APIRouter:
    """The router of one console section: HTML only (no OpenAPI), for users with `role`."""
    return APIRouter(
        prefix=prefix,
        include_in_schema=False,
        tags=[f"console:{role}"],
        dependencies=[Depends(require_role(role))],
    )
