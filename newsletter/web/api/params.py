"""What every API router shares: bounded path/query parameters, auth per role, error docs.

Inputs are bounded (slug pattern, id ranges, page sizes) so that nothing a client sends can
reach the database as a value it would choke on: bad input is a 422, never a 500. Every
error a route can answer is documented with its body (`{"detail": …}`), so a client (and the
schemathesis run in tests/web/api) can tell a documented refusal from a bug.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from newsletter.users.models import Role
from newsletter.web.api.models import SLUG_PATTERN, error
from newsletter.web.auth import require_api_role

MAX_ID = 2**62
Slug = Annotated[str, Path(pattern=SLUG_PATTERN, description="series slug")]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
Limit = Annotated[int, Query(ge=1, le=500)]
AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="return ids greater than this")]
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]
IssueId = Annotated[int, Path(ge=1, le=MAX_ID)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: error("missing or invalid token"),
    403: error("the token's account lacks the role"),
}
# A route that reads a JSON body: a value a rule refuses (an invalid address, a line break
# in a name) is a 400 with one line; a body too large, or not JSON, is refused before that.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: error("a value was refused, or the body was malformed"),
    413: error("the body is too large"),
    415: error("the body is not JSON"),
}


def _query_names_of(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names_of(sub)
    return names


def refuse_unknown_query(request: Request) -> None:
    """A 422 for a query parameter the route does not take: `?satus=active` would otherwise
    list everyone, silently, instead of telling the client about its typo."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _query_names_of(route.dependant))
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name[:40]), "msg": "unknown query parameter", "type": "extra"}
                for name in unknown[:5]
            ]
        )


def not_found(description: str) -> dict[int | str, dict[str, Any]]:
    return {404: error(description)}


def editor_router() -> APIRouter:
    """Routes for editors (and admins): series and issues."""
    return APIRouter(
        prefix="/api/v1",
        tags=["api:editor"],
        dependencies=[Depends(require_api_role(Role.EDITOR)), Depends(refuse_unknown_query)],
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
        dependencies=[Depends(require_api_role(Role.OPERATOR)), Depends(refuse_unknown_query)],
        responses=ERRORS,
    )
