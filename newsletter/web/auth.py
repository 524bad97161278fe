"""Who is asking: console sessions (signed cookie) and API bearer tokens, and their roles.

The console session is a signed, timestamped cookie holding a random session id, the user
id and a fingerprint of the user's password hash: changing the password logs out every
other session without a sessions table. HTML GETs without a session are redirected to the
login page; everything else gets a plain 401 (see `newsletter.web.errors`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer

from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.users import service as users
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


def password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def read_session(request: Request) -> dict[str, Any]:
    """The verified session cookie's payload ({} when absent, forged or expired)."""
    cached = getattr(request.state, "web_session", None)
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
    request.state.web_session = data
    if data.get("sid"):
        request.state.session_id = data["sid"]
    return data


def write_session(response: Response, user: User | None, session_id: str | None = None) -> str:
    """Start a fresh session (new id, so a pre-login id can never be reused); returns the id."""
    session_id = session_id or secrets.token_urlsafe(18)
    payload: dict[str, Any] = {"sid": session_id}
    if user is not None:
        payload |= {"uid": user.id, "pv": password_fingerprint(user)}
    response.set_cookie(
        COOKIE,
        _serializer().dumps(payload),
        max_age=get_settings().session_max_age,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
        path="/",
    )
    return session_id


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies())


def new_anonymous_session(request: Request) -> str | None:
    """For the login form: a session id to set when the visitor has none yet (else None).

    The CSRF token for the new id is available to templates at once (`csrf.request_token`);
    the caller sets the cookie on its response with `write_session(response, None, session_id)`.
    """
    if read_session(request).get("sid"):
        return None
    session_id = secrets.token_urlsafe(18)
    request.state.session_id = session_id
    return session_id


def session_user(request: Request) -> User:
    """The logged-in console user; raises `AuthRequired`."""
    data = read_session(request)
    uid = data.get("uid")
    if not isinstance(uid, int):
        raise AuthRequired()
    with transaction() as session:
        user = session.get(User, uid)
    if user is None or user.disabled_at is not None or password_fingerprint(user) != data.get("pv"):
        raise AuthRequired()
    request.state.user = user
    return user


def bearer_user(request: Request) -> User:
    """The API user behind `Authorization: Bearer <token>`; raises `AuthRequired`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRequired("bearer")
    with transaction() as session:
        user = users.user_for_token(session, token.strip())
    if user is None:
        raise AuthRequired("bearer")
    request.state.user = user
    return user


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
