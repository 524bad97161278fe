"""Console sessions, kept server side so that ending one takes effect at the next request.

The browser holds a random token (inside the signed cookie); the table holds its SHA-256
digest, the user, and when it started, was last seen and runs out. Signing out, a password
change, disabling the account and "sign out everywhere" set `revoked_at`, and `resolve`
only accepts rows without it, so a cookie copied before any of those opens nothing after.
Like every service here these take a `Session` and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.settings import get_settings
from newsletter.users.models import User, WebSession

TOKEN_BYTES = 32
MAX_TOKEN = 100  # longer than any token we issue; anything longer is not worth hashing
# last_seen_at is refreshed at most this often: a write per page view would buy nothing.
TOUCH_EVERY = dt.timedelta(seconds=60)
# Ended sessions are kept this long (the account pages show only live ones; the audit trail
# keeps the story), then dropped when their user next signs in.
KEEP_ENDED = dt.timedelta(days=30)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: User, user_agent: str = "") -> tuple[WebSession, str]:
    """A new session for `user`; the plain token is returned once, for the cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = models.utcnow()
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == user.id,
            or_(WebSession.expires_at < now - KEEP_ENDED, WebSession.revoked_at < now - KEEP_ENDED),
        )
    )
    row = WebSession(
        user_id=user.id,
        token_hash=digest(token),
        user_agent=user_agent[:200],
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=get_settings().session_max_age),
    )
    session.add(row)
    session.flush()
    return row, token


def resolve(session: Session, token: str) -> tuple[WebSession, User] | None:
    """The live session behind `token` and its enabled user, or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    now = models.utcnow()
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(
            WebSession.token_hash == digest(token),
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            User.disabled_at.is_(None),
        )
    ).first()
    if found is None:
        return None
    row, user = found
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def revoke(session: Session, session_id: int, user_id: int | None = None) -> bool:
    """End one session (of `user_id`, when given); False if there was no such live one."""
    query = update(WebSession).where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    return session.execute(query.values(revoked_at=models.utcnow())).rowcount == 1


def revoke_all(session: Session, user_id: int, keep: int | None = None) -> int:
    """End every live session of a user (but `keep`); returns how many ended."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    return session.execute(query.values(revoked_at=models.utcnow())).rowcount
