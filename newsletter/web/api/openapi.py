"""The parts of /openapi.json that FastAPI cannot infer from the routes, added in one place.

- **Security.** API routes check `Authorization: Bearer …` in a dependency (web/auth.py),
  which FastAPI does not see as a security scheme; clients and the schemathesis run need
  to know every /api operation wants a bearer token.
- **Links.** OpenAPI links say which response feeds which request (a series list gives the
  slug a series detail needs, a subscriber page the id one subscriber's routes need), so a
  stateful test (tests/web/api/test_schemathesis.py) can walk create → read → update →
  delete with real ids instead of guessing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

BEARER = "bearer"
API = "/api/v1"

# (source method, source path, status) → [(link name, target method, target path, link)]
Link = tuple[str, str, str, dict[str, Any]]
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("get", f"{API}/series", "200"): [
        ("ShowSeries", "get", f"{API}/series/{{slug}}", {"slug": "$response.body#/0/slug"}),
        (
            "SeriesIssues",
            "get",
            f"{API}/series/{{slug}}/issues",
            {"slug": "$response.body#/0/slug"},
        ),
        ("SignUp", "post", f"{API}/subscribers", {}),
    ],
    ("get", f"{API}/series/{{slug}}", "200"): [
        (
            "ShowIssue",
            "get",
            f"{API}/issues/{{issue_id}}",
            {"issue_id": "$response.body#/issues/0/id"},
        ),
        (
            "IssueDeliveries",
            "get",
            f"{API}/deliveries",
            {"issue_id": "$response.body#/issues/0/id"},
        ),
    ],
    ("get", f"{API}/series/{{slug}}/issues", "200"): [
        ("ShowIssue", "get", f"{API}/issues/{{issue_id}}", {"issue_id": "$response.body#/0/id"}),
    ],
    ("get", f"{API}/issues/{{issue_id}}", "200"): [
        ("ShowSeries", "get", f"{API}/series/{{slug}}", {"slug": "$response.body#/series"}),
    ],
    ("post", f"{API}/subscribers", "202"): [
        ("ListSubscribers", "get", f"{API}/subscribers", {"status": "pending", "after_id": 0}),
    ],
    ("get", f"{API}/subscribers", "200"): [
        (
            name,
            method,
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/items/0/id"},
        )
        for name, method in (
            ("ShowSubscriber", "get"),
            ("ChangeSubscriber", "patch"),
            ("EraseSubscriber", "delete"),
        )
    ],
    ("get", f"{API}/subscribers/{{subscriber_id}}", "200"): [
        (
            "ChangeSubscriber",
            "patch",
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/id"},
        ),
        (
            "EraseSubscriber",
            "delete",
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/id"},
        ),
    ],
    ("patch", f"{API}/subscribers/{{subscriber_id}}", "200"): [
        (
            "ShowSubscriber",
            "get",
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/id"},
        ),
        (
            "EraseSubscriber",
            "delete",
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/id"},
        ),
    ],
    ("delete", f"{API}/subscribers/{{subscriber_id}}", "200"): [
        (
            "ShowSubscriber",
            "get",
            f"{API}/subscribers/{{subscriber_id}}",
            {"subscriber_id": "$response.body#/id"},
        ),
    ],
    ("get", f"{API}/deliveries", "200"): [
        (
            "ShowIssue",
            "get",
            f"{API}/issues/{{issue_id}}",
            {"issue_id": "$response.body#/items/0/issue_id"},
        ),
    ],
}
# A link may also fill part of the target's JSON body (merged into a generated one).
LINK_BODIES: dict[str, Any] = {"SignUp": {"series": "$response.body#/0/slug"}}


def _secure(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token from `newsletter users token EMAIL`",
    }
    for path, operations in schema["paths"].items():
        if path.startswith(f"{API}/"):
            for operation in operations.values():
                operation["security"] = [{BEARER: []}]


def _link(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        found = response.setdefault("links", {})
        for name, target_method, target_path, parameters in links:
            link: dict[str, Any] = {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": parameters,
            }
            if name in LINK_BODIES:
                link["requestBody"] = LINK_BODIES[name]
            found[name] = link


def install(app: FastAPI) -> None:
    """Wrap `app.openapi` so the cached schema carries security and links."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _secure(schema)
            _link(schema)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
