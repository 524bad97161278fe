"""Account services: create users, check passwords, issue and resolve API tokens.

Like every service here they take a `Session` and never commit. Password checks always run
one argon2 verification, even for an unknown email, so the login form answers in the same
time whether or not an account exists. Changes made on someone's behalf take an `Actor`
and write their audit entry in the same transaction (`newsletter.users.audit`).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.core.db.models import utcnow
from newsletter.core.errors import Conflict, NotFound, UserError
from newsletter.subscribers.addresses import normalise_email
from newsletter.users.audit import Actor, record_action
from newsletter.users.models import ApiToken, Role, User

MIN_PASSWORD = 10
TOKEN_PREFIX = "nlt_"

_hasher = PasswordHasher()
# Verified against when the email is unknown, to keep the timing of a failed login flat.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class WeakPassword(UserError):
    pass


def has_role(user: User, role: str) -> bool:
    """Admins hold every role; everyone else exactly their own."""
    return user.role == Role.ADMIN or user.role == role


def check_role(role: str) -> str:
    if role not in Role.ALL:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(Role.ALL)}")
    return role


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(user: User, password: str) -> None:
    """Raise argon2's `VerificationError` unless `password` is the user's."""
    _hasher.verify(user.password_hash, password)


def _login_key(email: str) -> str:
    return normalise_email(email).key


def login_key(email: str) -> str:
    """The account key a login attempt is for, also when it is no valid address at all
    (the per-account login throttle counts those too, so it reveals nothing)."""
    try:
        return _login_key(email)
    except UserError:
        return email.strip().lower()[:320]


def create_user(
    session: Session, email: str, password: str, role: str, actor: Actor | None = None
) -> User:
    key = _login_key(email)
    check_role(role)
    if session.scalar(select(User.id).where(User.email == key)) is not None:
        raise Conflict("a console account with that email already exists")
    user = User(email=key, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    if actor is not None:
        record_action(session, actor, "user.create", {"user_id": user.id}, role=role)
    return user


def user_id_for_login(session: Session, email: str) -> int | None:
    """The id of the account a login names, if any (for the audit trail, never shown).
    Only a valid address can name one; anything else (a NUL, say) never reaches the query."""
    try:
        key = _login_key(email)
    except UserError:
        return None
    return session.scalar(select(User.id).where(User.email == key))


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == _login_key(email)))
    if user is None:
        raise NotFound("no console account with that email")
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None; constant work either way."""
    try:
        key = _login_key(email)
    except UserError:
        key = None
    user = session.scalar(select(User).where(User.email == key)) if key else None
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User, actor: Actor | None = None) -> str:
    """A new API token for `user`; the plain value is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_digest(token))
    session.add(row)
    session.flush()
    if actor is not None:
        record_action(session, actor, "token.issue", {"token_id": row.id, "user_id": user.id})
    return token


def token_for(session: Session, token: str) -> ApiToken | None:
    """The live token row behind a bearer token (its user enabled), or None.

    The user's `disabled_at` is checked here, on every request, so disabling an account
    stops its tokens at once; enabling it again brings back those not revoked.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or row.user.disabled_at is not None:
        return None
    row.last_used_at = utcnow()
    return row


def user_for_token(session: Session, token: str) -> User | None:
    """The active user behind a bearer token, or None."""
    row = token_for(session, token)
    return row.user if row is not None else None
