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

SERIES = f"{API}/series/{{slug}}"
ISSUE = f"{API}/issues/{{issue_id}}"
SUBSCRIBERS = f"{API}/subscribers"
SUBSCRIBER = f"{API}/subscribers/{{subscriber_id}}"

# A link: (name, target method, target path, {target parameter: value or expression})
Link = tuple[str, str, str, dict[str, Any]]


def _one_subscriber(pointer: str, *methods: str) -> list[Link]:
    names = {"get": "ShowSubscriber", "patch": "ChangeSubscriber", "delete": "EraseSubscriber"}
    return [(names[m], m, SUBSCRIBER, {"subscriber_id": pointer}) for m in methods]


# (source method, source path, status) → the links from that response
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("get", f"{API}/series", "200"): [
        ("ShowSeries", "get", SERIES, {"slug": "$response.body#/0/slug"}),
        ("SeriesIssues", "get", f"{SERIES}/issues", {"slug": "$response.body#/0/slug"}),
        ("SignUp", "post", SUBSCRIBERS, {}),
    ],
    ("get", SERIES, "200"): [
        ("ShowIssue", "get", ISSUE, {"issue_id": "$response.body#/issues/0/id"}),
        (
            "IssueDeliveries",
            "get",
            f"{API}/deliveries",
            {"issue_id": "$response.body#/issues/0/id"},
        ),
    ],
    ("get", f"{SERIES}/issues", "200"): [
        ("ShowIssue", "get", ISSUE, {"issue_id": "$response.body#/0/id"}),
    ],
    ("get", ISSUE, "200"): [
        ("ShowSeries", "get", SERIES, {"slug": "$response.body#/series"}),
    ],
    # Signup names no one (it answers alike for every address); the pending list does.
    ("post", SUBSCRIBERS, "202"): [
        ("ListSubscribers", "get", SUBSCRIBERS, {"status": "pending", "after_id": 0}),
    ],
    ("get", SUBSCRIBERS, "200"): _one_subscriber(
        "$response.body#/items/0/id", "get", "patch", "delete"
    ),
    ("get", SUBSCRIBER, "200"): _one_subscriber("$response.body#/id", "patch", "delete"),
    ("patch", SUBSCRIBER, "200"): _one_subscriber("$response.body#/id", "get", "delete"),
    ("delete", SUBSCRIBER, "200"): _one_subscriber("$response.body#/id", "get"),
    ("get", f"{API}/deliveries", "200"): [
        ("ShowIssue", "get", ISSUE, {"issue_id": "$response.body#/items/0/issue_id"}),
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
