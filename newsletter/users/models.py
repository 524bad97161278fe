"""Tables for console accounts and API tokens.

Passwords are stored as argon2id hashes, and API tokens and console session tokens as
SHA-256 digests: a leaked database gives an attacker neither a password nor a usable token
or session. Console sessions live here, not only in a cookie, so that signing out, a
password change, disabling an account and "sign out everywhere" end them at the next
request, and an account can list and end its own sessions.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from newsletter.core.db.models import Base, BigId, utcnow


class Role:
    EDITOR = "editor"
    OPERATOR = "operator"
    ADMIN = "admin"  # can do everything an editor and an operator can

    ALL = (EDITOR, OPERATOR, ADMIN)


class User(Base):
    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Lower-cased: logins are case-insensitive, like the subscriber email_key.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )


class ApiToken(Base):
    """A bearer token for /api/v1; only its SHA-256 digest is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class WebSession(Base):
    """A console sign-in; the cookie carries the token, the table only its SHA-256 digest.

    A session is valid while `revoked_at` is empty, `expires_at` is ahead and its user is
    enabled. `last_seen_at` is refreshed at most once a minute (a write per page view
    would buy nothing).
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the browser said it was, cut short: enough to tell "my laptop" from "my phone".
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
