"""The studio's work in progress: a parsed manuscript an editor is shaping into a series.

It lives server-side so the "new series" page works without JavaScript: every edit is a
form POST that changes this row and re-renders. `models` re-exports it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.core.db.base import Base, utcnow
from newsletter.core.db.dialect import BigId


class SeriesDraft(Base):
    """One editor's draft: `data` holds the essays (as `content check --json`), the
    warnings and the form's settings (title, slug, schedule, …)."""

    __tablename__ = "series_draft"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(300), default="")
