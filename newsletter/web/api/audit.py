"""/api/v1/audit for admins: the audit trail as JSON, oldest first, page by page.

Reading it is itself an audited export (`newsletter.web.audit.exports`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from newsletter.core.db.session import transaction
from newsletter.users import audit
from newsletter.web.api import models as m
from newsletter.web.api.params import MAX_ID, AfterId, Limit, admin_router
from newsletter.web.audit import exports

router = admin_router()


@router.get("/audit", response_model=m.AuditPage, responses={422: {}})
@exports
def audit_trail(
    actor_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
    since: Annotated[m.DateText | None, Query(description="RFC 3339; naive means UTC")] = None,
    limit: Limit = 100,
    after_id: AfterId = 0,
) -> m.AuditPage:
    where = audit.Filter(actor_id=actor_id, action=action, since=audit.naive_utc(since))
    with transaction() as session:
        entries = audit.oldest(session, where, after_id=after_id, limit=limit)
    items = [m.AuditEntryOut.model_validate(audit.as_row(e)) for e in entries]
    return m.AuditPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)
