"""Account administration: disable and enable, set a password, end sessions, revoke tokens.

The console's admin pages, the account page and `newsletter users …` all call these, so
the rules hold whichever way a change arrives:

- Each change ends what it must at once: disabling an account or setting its password
  revokes its sessions (tokens stop with `disabled_at`, checked on every request).
- The last enabled admin cannot be disabled; nobody could then manage accounts in the
  console. Two admins disabling each other at the same moment cannot both succeed (see
  `disable`).
- Every change writes its audit entry in its own transaction, with the actor.
"""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from newsletter.core.db import models
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.users import service, sessions
from newsletter.users.audit import Actor, record_action
from newsletter.users.models import ApiToken, Role, User
from newsletter.users.queries import user_by_id


class WrongPassword(UserError):
    http_status = 400


LAST_ADMIN = "that is the last enabled admin account; enable or add another first"


def disable(session: Session, actor: Actor, user_id: int) -> int:
    """Disable an account and end its sessions; returns how many sessions ended.

    The guard and the change are one conditional UPDATE ("unless it is an admin and no
    other enabled admin exists"), which SQLite runs under its single write lock. On
    PostgreSQL two such statements could each still see the other admin enabled, so the
    enabled admins are locked first (`FOR UPDATE`): the second waits, then finds one fewer.
    """
    user = user_by_id(session, user_id)
    if user.disabled_at is not None:
        return 0
    session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.disabled_at.is_(None)).with_for_update()
    ).all()
    other = aliased(User)
    another_admin = exists().where(
        other.role == Role.ADMIN, other.disabled_at.is_(None), other.id != user_id
    )
    changed = session.execute(
        update(User)
        .where(
            User.id == user_id,
            User.disabled_at.is_(None),
            or_(User.role != Role.ADMIN, another_admin),
        )
        .values(disabled_at=models.utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict(LAST_ADMIN if user.role == Role.ADMIN else "the account changed meanwhile")
    session.expire(user)
    ended = sessions.revoke_all(session, user_id)
    record_action(session, actor, "user.disable", {"user_id": user_id}, sessions_ended=ended)
    return ended


def enable(session: Session, actor: Actor, user_id: int) -> None:
    """Let a disabled account sign in again (its unrevoked API tokens work again too)."""
    user = user_by_id(session, user_id)
    if user.disabled_at is None:
        return
    user.disabled_at = None
    record_action(session, actor, "user.enable", {"user_id": user.id})


def set_password(
    session: Session, actor: Actor, user_id: int, password: str, keep_session: int | None = None
) -> int:
    """A new password; every session of the account ends but `keep_session` (the actor's
    own, when they change their own password). Returns how many sessions ended."""
    user = user_by_id(session, user_id)
    user.password_hash = service.hash_password(password)
    ended = sessions.revoke_all(session, user.id, keep=keep_session)
    record_action(session, actor, "user.password", {"user_id": user.id}, sessions_ended=ended)
    return ended


def change_own_password(
    session: Session, actor: Actor, current: str, password: str, keep_session: int | None
) -> int:
    """The account page's password change: the current password first, as proof that the
    person at the keyboard is the account's owner and not someone at an unlocked screen."""
    if actor.user_id is None:
        raise UserError("only a signed-in account can change its own password")
    user = user_by_id(session, actor.user_id)
    try:
        service.verify_password(user, current)
    except (VerificationError, InvalidHashError) as exc:
        raise WrongPassword("the current password is not right") from exc
    return set_password(session, actor, user.id, password, keep_session=keep_session)


def logout_everywhere(session: Session, actor: Actor, user_id: int) -> int:
    """End every session of an account; returns how many ended."""
    user = user_by_id(session, user_id)
    ended = sessions.revoke_all(session, user.id)
    record_action(session, actor, "user.logout_all", {"user_id": user.id}, sessions_ended=ended)
    return ended


def end_session(
    session: Session, actor: Actor, session_id: int, owner_id: int | None = None
) -> None:
    """End one session (only if it is `owner_id`'s, when given: the account page)."""
    if not sessions.revoke(session, session_id, owner_id):
        raise NotFound(f"no live session {session_id}")
    record_action(session, actor, "session.revoke", {"session_id": session_id})


def revoke_token(
    session: Session, actor: Actor, token_id: int, owner_id: int | None = None
) -> ApiToken:
    """Revoke an API token for good (only if it is `owner_id`'s, when given); revoking a
    revoked one is a no-op."""
    row = session.get(ApiToken, token_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise NotFound(f"no API token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = models.utcnow()
        record_action(session, actor, "token.revoke", {"token_id": row.id, "user_id": row.user_id})
    return row
