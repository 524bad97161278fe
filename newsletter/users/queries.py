"""Read queries of console accounts: the CLI's and the console's user lists, a user's
sessions and API tokens (never a secret: only ids, times and states)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.core.db import models
from newsletter.core.errors import NotFound
from newsletter.users.models import ApiToken, User, WebSession


def all_users(session: Session) -> list[User]:
    """Every console account, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))


def user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no console account {user_id}")
    return user


@dataclass(frozen=True)
class UserSummary:
    id: int
    email: str
    role: str
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    disabled_at: dt.datetime | None
    sessions: int  # live console sessions
    tokens: int  # API tokens not revoked


def summaries(session: Session) -> list[UserSummary]:
    """Every account with its live session and token counts (the console's user list)."""
    now = models.utcnow()
    live = (
        select(WebSession.user_id, func.count().label("n"))
        .where(WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .group_by(WebSession.user_id)
        .subquery()
    )
    tokens = (
        select(ApiToken.user_id, func.count().label("n"))
        .where(ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(live.c.n, 0), func.coalesce(tokens.c.n, 0))
        .outerjoin(live, live.c.user_id == User.id)
        .outerjoin(tokens, tokens.c.user_id == User.id)
        .order_by(User.id)
    )
    return [
        UserSummary(
            u.id, u.email, u.role, u.created_at, u.last_login_at, u.disabled_at, int(s), int(t)
        )
        for u, s, t in rows
    ]


def live_sessions(session: Session, user_id: int) -> list[WebSession]:
    """A user's sessions that still open the console, newest first."""
    return list(
        session.scalars(
            select(WebSession)
            .where(
                WebSession.user_id == user_id,
                WebSession.revoked_at.is_(None),
                WebSession.expires_at > models.utcnow(),
            )
            .order_by(WebSession.id.desc())
        )
    )


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """Every API token of a user, revoked ones included, oldest first."""
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
    )


def emails_by_id(session: Session) -> dict[int, str]:
    """Account emails by id, to name the actors of the audit trail on screen."""
    return {user_id: email for user_id, email in session.execute(select(User.id, User.email))}
