"""The admins' audit page: who did what, newest first, filtered by actor and action, and
its CSV download (itself an audited export). Operators and editors get 403."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from newsletter.core.db.session import transaction
from newsletter.users import audit, queries
from newsletter.users.models import Role
from newsletter.web.api.params import MAX_ID
from newsletter.web.audit import exports
from newsletter.web.auth import console_router
from newsletter.web.templating import render

router = console_router("/admin/audit", Role.ADMIN)
PAGE = 50

ActorParam = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ActionParam = Annotated[str | None, Query(max_length=64)]
SinceParam = Annotated[dt.datetime | None, Query()]


def _filter(actor: int | None, action: str | None, since: dt.datetime | None) -> audit.Filter:
    return audit.Filter(actor_id=actor, action=action or None, since=audit.naive_utc(since))


@router.get("")
def audit_page(
    request: Request,
    actor: ActorParam = None,
    action: ActionParam = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    with transaction() as session:
        entries = audit.newest(session, _filter(actor, action, None), before_id=before, limit=PAGE)
        names = queries.emails_by_id(session)
        actions = audit.actions(session)
    return render(
        request,
        "admin/audit.html",
        {
            "entries": entries,
            "names": names,
            "actions": actions,
            "actor": actor,
            "action": action or "",
            "older": entries[-1].id if len(entries) == PAGE else None,
            "section": "audit",
        },
    )


@router.get("/export.csv")
@exports
def audit_csv(
    actor: ActorParam = None, action: ActionParam = None, since: SinceParam = None
) -> Response:
    with transaction() as session:
        text = audit.to_csv(audit.iter_all(session, _filter(actor, action, since)))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
