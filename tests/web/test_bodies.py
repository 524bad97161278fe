"""Malformed request bodies on every route that takes one: never a 5xx, always a short answer.

The routes are enumerated from the app itself (a route added later is walked too), each with
valid credentials (an admin's session and CSRF header, or an admin's API token) and a valid
link token, so the body really is parsed. The bodies: broken, non-UTF-8 and too deeply
nested JSON; non-UTF-8 and NUL-holding forms and multiparts; values of the wrong type and
out of range; the wrong content type; and bodies over the 1 MB cap, declared or chunked (413).
Both databases: PostgreSQL refuses things SQLite accepts (NUL in text, 64-bit overflow).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from newsletter.core.settings import reset_settings
from newsletter.core.tokens import make_token
from newsletter.web.application import create_app
from newsletter.web.auth import COOKIE
from tests.support.console import login
from tests.support.factories import Account, add_series, api_token, make_account

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FILLER = "Q" * 2_000  # must never come back whole
MB = 1_000_000


def _routes() -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(create_app().routes):
        for method in sorted((route.methods or set()) & BODY_METHODS):
            found.append((method, route.path))
    return found


ROUTES = _routes()


@dataclass(frozen=True)
class Body:
    name: str
    content: bytes | Iterator[bytes]
    content_type: str | None
    expect: int | None = None  # an exact status, where one is owed


def _chunks(total: int) -> Iterator[bytes]:
    """No Content-Length: the cap has to be enforced while reading."""
    piece = b'"' + b"x" * 65_534 + b'"'
    for _ in range(total // len(piece) + 1):
        yield piece


BOUNDARY = "nlboundary"


def _multipart(value: bytes, name: bytes = b"email") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="'.encode()
        + name
        + b'"\r\n\r\n'
        + value
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
FIELDS = ("email", "name", "series", "series_id", "part", "at", "number", "issue_id", "confirm")


def bodies() -> list[Body]:
    wrong_types = {
        "email": 1,
        "name": ["x"],
        "series": {"a": 1},
        "series_id": "x",
        "part": 2**70,
        "number": -1,
        "issue_id": "²",
        "at": None,
    }
    listed = [
        ("json-broken", b'{"email": ', JSON),
        ("json-not-utf8", b'{"email": "\xff\xfe@example.com", "series": "labor"}', JSON),
        ("json-lone-surrogate", b'{"email": "\\ud800@x.org", "series": "labor"}', JSON),
        ("json-deep-array", b"[" * 100_000 + b"]" * 100_000, JSON),
        ("json-deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
        ("json-array", b'[1, "two", null]', JSON),
        ("json-scalar", b'"just a string"', JSON),
        ("json-null", b"null", JSON),
        ("json-wrong-types", json.dumps(wrong_types).encode(), JSON),
        ("json-long-key", json.dumps({FILLER * 100: FILLER}).encode(), JSON),
        ("json-long-values", json.dumps({f: FILLER * 50 for f in FIELDS}).encode(),
         JSON),
        ("json-nul", json.dumps({f: "a\x00b" for f in FIELDS}).encode(), JSON),
        ("json-nul-series", json.dumps({"email": "ok@example.com", "series": "la\x00bor"}).encode(),
         JSON),
        ("json-control-name", json.dumps(
            {"email": "ok@example.com", "name": "A\x00\x1b[31m", "series": "labor"}).encode(),
         JSON),
        ("json-huge-number", b'{"part": 1' + b"0" * 10_000 + b"}", JSON),
        ("form-not-utf8", b"email=%FF%FE%41&name=\xff\xfe&series=labor&confirm=%C3%28", FORM),
        ("form-nul", "&".join(f"{f}=a%00b" for f in FIELDS).encode(), FORM),
        ("form-nul-series", b"email=ok%40example.com&name=Ok&series=la%00bor", FORM),
        ("form-control-name", b"email=ok%40example.com&name=A%00%1B&series=labor", FORM),
        ("form-wrong-types",
         b"series_id=x&part=abc&number=%C2%B2&issue_id=%C2%B2&at=yesterday&only=maybe", FORM),
        ("form-huge-ints", "&".join(f"{f}=1{'0' * 5_000}" for f in FIELDS).encode(), FORM),
        ("form-overflow-ints", "&".join(f"{f}={2**63}" for f in FIELDS).encode(), FORM),
        ("form-long-values", "&".join(f"{f}={FILLER * 20}" for f in FIELDS).encode(), FORM),
        ("form-many-fields", b"a=1&" * 50_000, FORM),
        ("form-broken-escapes", b"email=%&name=%G1%%&=&&series", FORM),
        ("multipart-not-utf8", _multipart(b"\xff\xfe", b"\xff\xfe"), MULTIPART),
        ("multipart-no-boundary", _multipart(b"x"), "multipart/form-data"),
        ("multipart-truncated", _multipart(b"x")[:-10], MULTIPART),
        ("multipart-file", _multipart(b"a,b\n1,2\n").replace(
            b'name="email"', b'name="email"; filename="x.csv"'), MULTIPART),
        ("text-plain", b"email=a@example.com", "text/plain"),
        ("xml", b"<email>a@example.com</email>", "application/xml"),
        ("no-content-type", b'{"email": "a@example.com"}', None),
        ("bad-content-type", b"{}", "application/json; charset=nope; ;;="),
        ("charset-latin1", '{"email": "é@example.com"}'.encode("latin-1"),
         "application/json; charset=latin-1"),
    ]  # fmt: skip
    found = [Body(name, content, ctype) for name, content, ctype in listed]
    found += [
        Body("oversize-json", b'"' + b"x" * (2 * MB) + b'"', JSON, 413),
        Body("oversize-form", b"name=" + b"x" * (2 * MB), FORM, 413),
        Body("oversize-chunked", _chunks(2 * MB), JSON, 413),
    ]
    return found


@dataclass
class Site:
    series_id: int
    admin: Account
    bearer: str


@pytest.fixture
def site(db: str, clock, sent, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A series "labor", and an admin with a console login and an API token. No rate
    limits: a 429 would stop the body from being read."""
    monkeypatch.setenv("NEWSLETTER_SIGNUP_RATE_LIMIT", "0")
    monkeypatch.setenv("NEWSLETTER_LOGIN_RATE_LIMIT", "0")
    reset_settings()
    admin = make_account("admin")
    return Site(add_series(), admin, api_token(admin))


def _url(path: str, series_id: int) -> str:
    purpose = {"confirm": "confirm", "unsubscribe": "unsubscribe", "manage": "manage"}
    first = path.strip("/").split("/", 1)[0]
    values = {
        "token": make_token(purpose.get(first, "manage"), 1, series_id),
        "slug": "labor",
        "number": "1",
        "issue_id": "1",
        "action": "pause",
    }
    # Any other path parameter is an id; "1" names a row the site has, or a clean 404.
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), "1"), path)


def _short(text: str) -> bool:
    return len(text) < 20_000 and FILLER not in text and "Traceback" not in text


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_malformed_bodies_get_a_short_4xx(site: Site, method: str, path: str) -> None:
    problems = []
    with TestClient(create_app(), base_url="http://testserver") as client:
        csrf = login(client, site.admin)
        session = client.cookies[COOKIE]
        for accept in ("text/html", JSON):
            for body in bodies():
                headers = {"accept": accept, "authorization": f"Bearer {site.bearer}"}
                headers["x-csrf-token"] = csrf
                if body.content_type:
                    headers["content-type"] = body.content_type
                client.cookies.set(COOKIE, session)  # /admin/logout clears it
                response = client.request(
                    method, _url(path, site.series_id), content=body.content, headers=headers
                )
                status = response.status_code
                if status >= 500 or not _short(response.text):
                    problems.append(f"{body.name} ({accept}): {status} {response.text[:200]!r}")
                elif body.expect and status != body.expect:
                    problems.append(f"{body.name} ({accept}): {status}, expected {body.expect}")
    assert not problems, f"{method} {path}:\n" + "\n".join(problems)


GET_ROUTES = sorted(
    {route.path for route in iter_route_contexts(create_app().routes) if "{" in route.path}
)


@pytest.mark.parametrize("path", GET_ROUTES)
def test_a_control_character_in_the_path_is_a_404(site: Site, path: str) -> None:
    """No URL of ours holds one, and a NUL that reached PostgreSQL would be a 500."""
    with TestClient(create_app(), base_url="http://testserver") as client:
        for bad in ("la%00bor", "x%1b[31m", "a%7f"):
            url = re.sub(r"{(\w+)}", bad, path)
            for method in ("GET", "POST"):
                response = client.request(method, url, headers={"accept": "application/json"})
                assert response.status_code == 404, (method, url, response.text)
                assert response.json() == {"detail": "There is nothing at this address."}


WRONG_FORMAT = [
    ("/api/v1/subscribers", b"email=a%40example.com&series=labor", FORM, "Send this as JSON"),
    ("/api/v1/subscribers", b'{"email": "a@example.com", "series": "labor"}', None, "as JSON"),
    ("/api/v1/subscribers", b"<signup/>", "application/xml", "Send this as JSON"),
    ("/subscribe", b"email=a@example.com", "text/plain", "as a form or as a JSON object"),
    ("/subscribe", b"<signup/>", "application/xml", "as a form or as a JSON object"),
    ("/admin/series/labor/reschedule", b'{"part": 1, "at": "2027-01-01T09:00"}', JSON, "a form"),
]


@pytest.mark.parametrize(("path", "content", "content_type", "says"), WRONG_FORMAT)
def test_a_body_in_a_format_the_route_does_not_read_is_a_415(
    site: Site, path: str, content: bytes, content_type: str | None, says: str
) -> None:
    with TestClient(create_app(), base_url="http://testserver") as client:
        headers = {"x-csrf-token": login(client, site.admin), "accept": "application/json"}
        headers["authorization"] = f"Bearer {site.bearer}"
        if content_type:
            headers["content-type"] = content_type
        response = client.post(path, content=content, headers=headers)
    assert response.status_code == 415, response.text
    assert says in response.json()["detail"]
