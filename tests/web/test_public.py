"""Start page, landing page and the signup form (no enumeration, rate limit, validation)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.core.db.models import Subscriber, SubscriberStatus, SubscriptionStatus
from newsletter.core.db.session import transaction
from newsletter.core.settings import reset_settings
from newsletter.scheduling.series import get_series
from newsletter.web.application import create_app
from tests.support.factories import make_series, make_subscriber


def test_home_lists_series_with_a_signup_form(client, series):
    page = client.get("/")
    assert page.status_code == 200
    assert "Labor Letters" in page.text
    assert 'action="/subscribe"' in page.text and 'name="series" value="labor"' in page.text
    assert "<script>" not in page.text


def test_home_without_series(client, sqlite_db):
    assert "No series are open" in client.get("/").text


def test_landing_page_shows_parts_schedule_and_form(client, series):
    page = client.get("/s/labor")
    assert page.status_code == 200
    assert "Essay 1 &amp; &lt;friends&gt;" in page.text  # autoescaped
    assert 'href="/archive/labor/1"' in page.text  # part 1 is published
    assert 'href="/archive/labor/2"' not in page.text  # part 2 is not
    assert "Europe/Berlin" in page.text


def test_unknown_series_is_a_404_page(client, sqlite_db):
    page = client.get("/s/nope")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text


def test_web_url_in_mail_redirects_to_the_archive(client, series):
    response = client.get("/s/labor/1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/archive/labor/1"


def test_signup_starts_double_opt_in(client, series, sent):
    page = client.post("/subscribe", data={"email": "New@Example.com", "series": "labor"})
    assert page.status_code == 200
    assert "Check your inbox" in page.text
    with transaction() as session:
        subscriber = session.scalar(select(Subscriber))
        assert subscriber.email_key == "new@example.com"
        assert subscriber.status == SubscriberStatus.PENDING
        expected = [(subscriber.id, subscriber.subscriptions[0].series_id)]
    assert sent == expected


def _prepare(state: str) -> None:
    with transaction() as session:
        series = get_series(session, "labor")
        if state == "active":
            make_subscriber(session, series, "known@example.com")
        elif state == "pending":
            make_subscriber(
                session,
                series,
                "known@example.com",
                SubscriberStatus.PENDING,
                SubscriptionStatus.PENDING,
            )
        elif state == "unsubscribed":
            make_subscriber(
                session,
                series,
                "known@example.com",
                SubscriberStatus.UNSUBSCRIBED,
                SubscriptionStatus.UNSUBSCRIBED,
            )
        elif state == "bounced":
            make_subscriber(
                session,
                series,
                "known@example.com",
                SubscriberStatus.BOUNCED,
                SubscriptionStatus.STOPPED,
            )


@pytest.mark.parametrize("as_json", [False, True])
def test_signup_answers_identically_whatever_the_address_state(client, db, sent, as_json):
    with transaction() as session:
        make_series(session, "labor", parts=3)
    answers = []
    for state in ("new", "pending", "active", "unsubscribed", "bounced"):
        if state != "new":
            with transaction() as session:
                for row in session.scalars(select(Subscriber)):
                    session.delete(row)
            _prepare(state)
        body = {"email": "known@example.com", "series": "labor"}
        response = (
            client.post("/subscribe", json=body)
            if as_json
            else client.post("/subscribe", data=body)
        )
        answers.append((response.status_code, response.text, response.headers["content-type"]))
    assert len(set(answers)) == 1, answers
    assert answers[0][0] == 200


def test_signup_json_answer(client, series, sent):
    response = client.post("/subscribe", json={"email": "a@example.com", "series": "labor"})
    assert response.status_code == 200
    assert response.json()["status"] == "check_your_inbox"


def test_invalid_address_is_a_friendly_form_error(client, series, sent):
    page = client.post("/subscribe", data={"email": "not an address", "series": "labor"})
    assert page.status_code == 422
    assert 'role="alert"' in page.text and 'value="not an address"' in page.text
    assert sent == []
    response = client.post("/subscribe", json={"email": "nope", "series": "labor"})
    assert response.status_code == 422 and "detail" in response.json()


def test_header_injection_in_name_is_refused(client, series, sent):
    page = client.post(
        "/subscribe", data={"email": "a@example.com", "name": "A\r\nBcc: x@y", "series": "labor"}
    )
    assert page.status_code == 422
    assert sent == []


def test_signup_for_unknown_series_is_404(client, series):
    assert (
        client.post("/subscribe", data={"email": "a@example.com", "series": "x"}).status_code == 404
    )
    assert client.post("/subscribe", data={"email": "a@example.com"}).status_code == 400


def test_bad_json_body_is_400_not_500(client, series):
    response = client.post(
        "/subscribe", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    response = client.post("/subscribe", json=["a"])
    assert response.status_code == 400


def test_honeypot_gets_the_same_answer_but_stores_nothing(client, series, sent):
    page = client.post(
        "/subscribe", data={"email": "bot@example.com", "series": "labor", "website": "x"}
    )
    assert page.status_code == 200 and "Check your inbox" in page.text
    with transaction() as session:
        assert session.scalar(select(Subscriber)) is None


def test_signup_is_rate_limited_per_client(client, series, sent, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SIGNUP_RATE_LIMIT", "3")
    reset_settings()
    codes = [
        client.post(
            "/subscribe", data={"email": f"r{i}@example.com", "series": "labor"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    page = client.post("/subscribe", data={"email": "x@example.com", "series": "labor"})
    assert "Slow down" in page.text and int(page.headers["retry-after"]) > 0
    assert client.post("/subscribe", json={"email": "x@e.com", "series": "labor"}).json()["detail"]


def test_rate_limit_shared_through_redis(client, series, sent, monkeypatch, redis_url):
    monkeypatch.setenv("NEWSLETTER_SIGNUP_RATE_LIMIT", "2")
    reset_settings()
    for _ in range(2):
        client.post("/subscribe", data={"email": "a@example.com", "series": "labor"})
    import redis

    keys = redis.Redis.from_url(redis_url).keys("newsletter:throttle:signup:*")
    assert len(keys) == 1 and b"testclient" not in keys[0]  # the client is hashed
    from newsletter.web import throttle

    throttle.reset_local()  # the count lives in Redis, not in this process
    assert (
        client.post("/subscribe", data={"email": "a@example.com", "series": "labor"}).status_code
        == 429
    )


def test_signup_answer_is_padded_to_a_minimum_time(client, series, sent, monkeypatch):
    import time

    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0.2")
    reset_settings()
    started = time.monotonic()
    client.post("/subscribe", data={"email": "a@example.com", "series": "labor"})
    assert time.monotonic() - started >= 0.2


def test_security_headers(client, series):
    response = client.get("/")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_when_the_public_url_is_https(series, monkeypatch):
    assert "strict-transport-security" not in TestClient(create_app()).get("/").headers
    monkeypatch.setenv("NEWSLETTER_BASE_URL", "https://letters.example.org")
    reset_settings()
    with TestClient(create_app(), base_url="https://testserver") as secure:
        hsts = secure.get("/").headers["strict-transport-security"]
    assert hsts.startswith("max-age=31536000")


def test_an_address_that_was_not_utf8_is_refused(client, series, sent):
    """`%FF` decodes to U+FFFD; it must not be stored inside an address."""
    body = "email=%FFa%40example.com&name=A&series=labor"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = client.post("/subscribe", content=body, headers=headers)
    assert response.status_code == 422 and "not valid UTF-8" in response.text
    with transaction() as session:
        assert session.scalars(select(Subscriber)).all() == []
    assert sent == []


def test_a_huge_field_is_not_echoed_back(client, series, sent):
    name = "N" * 900_000  # just under the 1 MB body cap (over it: 413, tests/web/test_bodies.py)
    response = client.post("/subscribe", data={"email": "bad", "name": name, "series": "labor"})
    assert response.status_code == 422
    assert len(response.content) < 50_000 and "N" * 321 not in response.text


@pytest.mark.parametrize(
    "body",
    ['{"email": "\\ud800@example.com", "series": "labor"}', "[" * 100_000 + "]" * 100_000],
    ids=["lone-surrogate", "deep-nesting"],
)
def test_malformed_json_is_a_400_not_a_500(client, series, sent, body):
    headers = {"content-type": "application/json", "accept": "application/json"}
    response = client.post("/subscribe", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert sent == []


def test_stylesheet_is_served(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert response.headers["cache-control"] == "public, max-age=86400"
    script = client.get("/static/console.js")
    assert script.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("name", ["other.css", "..%2Fbase.html", "%2E%2E", "style.css.bak"])
def test_only_the_listed_static_files_are_served(client, name):
    assert client.get(f"/static/{name}").status_code == 404


def test_unknown_path_is_a_404_page_and_json_for_api(client, sqlite_db):
    assert "<h1>Not found</h1>" in client.get("/nothing/here").text
    assert client.get("/api/v1/nothing").json() == {"detail": "There is nothing at this address."}


def test_a_bug_is_a_plain_500_and_the_log_has_no_address(client, series, monkeypatch, caplog):
    from newsletter.scheduling import queries

    def broken(session):
        address = "@".join(("someone", "example.com"))  # the source line shows no address
        raise RuntimeError(f"boom for {address}")

    monkeypatch.setattr(queries, "open_series", broken)
    page = client.get("/")
    assert page.status_code == 500
    assert "Something went wrong" in page.text and "someone@example.com" not in page.text
    assert "RuntimeError" in caplog.text and "someone@example.com" not in caplog.text
    assert page.headers["x-content-type-options"] == "nosniff"


def test_padding_holds_no_signup_slot(series, sent, monkeypatch):
    """The minimum answer time is awaited outside the signup slots (and the DB session):
    five signups through a single slot take about one padding, not five."""
    import asyncio
    import time

    import httpx

    from newsletter.web.application import create_app

    monkeypatch.setenv("NEWSLETTER_SIGNUP_MIN_SECONDS", "0.4")
    monkeypatch.setenv("NEWSLETTER_SIGNUP_CONCURRENCY", "1")
    reset_settings()

    async def five() -> list[int]:
        transport = httpx.ASGITransport(app=create_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/subscribe", data={"email": f"p{i}@example.com", "series": "labor"}
                    )
                    for i in range(5)
                )
            )
        return [a.status_code for a in answers]

    started = time.monotonic()
    assert asyncio.run(five()) == [200] * 5
    assert time.monotonic() - started < 1.2
    assert len(sent) == 5
