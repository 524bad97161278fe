"""What every API router shares: bounded path/query parameters, auth per role, error docs.

Inputs are bounded (slug pattern, id ranges, page sizes) so that nothing a client sends can
reach the database as a value it would choke on: bad input is a 422, never a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from newsletter.users.models import Role
from newsletter.web.auth import require_api_role

MAX_ID = 2**62
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="series slug")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Limit = Annotated[int, Query(ge=1, le=500)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="return ids greater than this")]
ERRORS = {401: {"description": "missing or invalid token"}, 403: {"description": "wrong role"}}


def editor_router() -> APIRouter:
    """Routes for editors (and admins): series and issues."""
    return APIRouter(
        prefix="/api/v1",
        tags=["api:editor"],
        dependencies=[Depends(require_api_role(Role.EDITOR))],
        responses=ERRORS,
    )


def admin_router() -> APIRouter:
    """Routes for admins only: the audit trail."""
    return APIRouter(
        prefix="/api/v1",
        tags=["api:admin"],
        dependencies=[Depends(require_api_role(Role.ADMIN))],
        responses=ERRORS,
    )


def operator_router() -> APIRouter:
    """Routes for operators (and admins): subscribers, deliveries, stats."""
    return APIRouter(
        prefix="/api/v1",
        tags=["api:operator"],
        dependencies=[Depends(require_api_role(Role.OPERATOR))],
        responses=ERRORS,
    )
