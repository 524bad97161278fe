"""CSRF protection for the console's forms: a token bound to the signed session cookie.

The token is an HMAC of the session id under the app secret. The session cookie is HttpOnly
and SameSite=Lax, so another site can neither read the session id nor compute the token;
nothing needs to be stored server side. Login rotates the session id, and with it the token.
Forms send it as `csrf_token`; scripts may send the `X-CSRF-Token` header instead.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from newsletter.core.settings import get_settings
from newsletter.web.auth import read_session

FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfError(Exception):
    """The form's CSRF token is missing or does not match the session."""


def token_for(session_id: str) -> str:
    key = get_settings().secret().encode()
    return hmac.new(key, b"csrf|" + session_id.encode(), hashlib.sha256).hexdigest()


def request_token(request: Request) -> str:
    """The token for the request's session (what the forms embed); "" without a session."""
    session_id = getattr(request.state, "session_id", None)
    return token_for(session_id) if session_id else ""


async def verify(request: Request) -> None:
    """Dependency for state-changing console routes; raises `CsrfError` on mismatch."""
    session_id = read_session(request).get("sid")
    sent = request.headers.get(HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(FIELD)
    if not session_id or not isinstance(sent, str):
        raise CsrfError()
    if not hmac.compare_digest(sent, token_for(session_id)):
        raise CsrfError()
