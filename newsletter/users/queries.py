"""Read queries of console accounts (the CLI's and, later, the console's user list)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.users.models import User


def all_users(session: Session) -> list[User]:
    """Every console account, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))
