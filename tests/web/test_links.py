"""Confirm, unsubscribe (incl. RFC 8058 one-click) and the manage page."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from newsletter.core.db import models
from newsletter.core.db.models import Subscriber, SubscriberStatus, SubscriptionStatus
from newsletter.core.db.session import transaction
from newsletter.core.tokens import make_token
from newsletter.scheduling.series import get_series
from tests.support.factories import make_subscriber


def _subscriber(status=SubscriberStatus.ACTIVE, sub=SubscriptionStatus.ACTIVE) -> tuple[int, int]:
    with transaction() as session:
        series = get_series(session, "labor")
        subscriber = make_subscriber(session, series, "reader@example.com", status, sub)
        return subscriber.id, series.id


def _status(subscriber_id: int) -> tuple[str, list[str]]:
    with transaction() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        return subscriber.status, [s.status for s in subscriber.subscriptions]


def test_confirm_get_only_shows_a_button(client, series):
    """A mail scanner that follows the link confirms nobody."""
    sid, rid = _subscriber(SubscriberStatus.PENDING, SubscriptionStatus.PENDING)
    token = make_token("confirm", sid, rid)
    for _ in range(3):
        page = client.get(f"/confirm/{token}")
        assert page.status_code == 200 and "Confirm your subscription" in page.text
    assert f'action="/confirm/{token}"' in page.text and 'method="post"' in page.text
    assert "Labor Letters" in page.text
    # The one script is our own file (CSP script-src 'self'): it presses the button.
    assert '<script src="/static/confirm.js" defer></script>' in page.text
    assert "form.submit()" in client.get("/static/confirm.js").text
    assert _status(sid) == ("pending", ["pending"])


def test_confirm_post_activates_and_is_idempotent(client, series):
    sid, rid = _subscriber(SubscriberStatus.PENDING, SubscriptionStatus.PENDING)
    token = make_token("confirm", sid, rid)
    client.cookies.clear()
    page = client.post(f"/confirm/{token}", headers={"sec-fetch-site": "same-origin"})
    assert page.status_code == 200 and "You are subscribed" in page.text
    assert "Labor Letters" in page.text and "set-cookie" not in page.headers
    assert _status(sid) == ("active", ["active"])
    again = client.post(f"/confirm/{token}")  # a second press, or a non-browser client
    assert again.status_code == 200 and "You are subscribed" in again.text
    assert _status(sid) == ("active", ["active"])


def test_confirm_post_from_another_site_confirms_nothing(client, series):
    """Another site that holds the link may post to it; the person still has to press the
    button on our page (and that page does not press it for them)."""
    sid, rid = _subscriber(SubscriberStatus.PENDING, SubscriptionStatus.PENDING)
    token = make_token("confirm", sid, rid)
    for site in ("cross-site", "same-site"):
        page = client.post(f"/confirm/{token}", headers={"sec-fetch-site": site})
        assert page.status_code == 200 and "Confirm your subscription" in page.text
        assert f'action="/confirm/{token}"' in page.text and "confirm.js" not in page.text
    assert _status(sid) == ("pending", ["pending"])


def test_forged_and_wrong_purpose_tokens_are_4xx_pages(client, series):
    sid, rid = _subscriber()
    for url in (
        "/confirm/forged.token.value",
        f"/confirm/{make_token('unsubscribe', sid, rid)}",
        "/unsubscribe/forged",
        f"/unsubscribe/{make_token('manage', sid, rid)}",
        "/manage/forged",
    ):
        page = client.get(url)
        assert page.status_code == 400, url
        assert 'href="/"' in page.text and "Traceback" not in page.text
    assert client.post("/unsubscribe/forged").status_code == 400
    assert client.post("/confirm/forged.token.value").status_code == 400
    assert client.post(f"/confirm/{make_token('manage', sid, rid)}").status_code == 400
    assert client.post("/manage/forged/export").status_code == 400
    assert client.post("/manage/forged/pause", data={"series_id": rid}).status_code == 400
    assert _status(sid) == ("active", ["active"])


def test_expired_confirm_link_offers_signing_up_again(client, series, monkeypatch):
    sid, rid = _subscriber(SubscriberStatus.PENDING, SubscriptionStatus.PENDING)
    token = make_token("confirm", sid, rid)
    later = models.utcnow() + dt.timedelta(days=8)
    monkeypatch.setattr(models, "utcnow", lambda: later)
    for page in (client.get(f"/confirm/{token}"), client.post(f"/confirm/{token}")):
        assert page.status_code == 400
        assert "expired" in page.text and "Sign up again" in page.text
    assert _status(sid) == ("pending", ["pending"])


def test_unsubscribe_get_only_shows_a_button(client, series):
    sid, rid = _subscriber()
    token = make_token("unsubscribe", sid, rid)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert f'action="/unsubscribe/{token}"' in page.text and 'method="post"' in page.text
    assert _status(sid) == ("active", ["active"])


def test_one_click_unsubscribe_without_cookies_or_csrf(client, series):
    sid, rid = _subscriber()
    token = make_token("unsubscribe", sid, rid)
    client.cookies.clear()
    response = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert "You are unsubscribed" in response.text
    assert "set-cookie" not in response.headers
    assert _status(sid) == ("unsubscribed", ["unsubscribed"])
    again = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and "You are unsubscribed" in again.text


def test_unsubscribe_link_of_an_erased_person_still_says_unsubscribed(client, series):
    sid, rid = _subscriber()
    with transaction() as session:
        session.delete(session.get(Subscriber, sid))
    response = client.post(f"/unsubscribe/{make_token('unsubscribe', sid, rid)}")
    assert response.status_code == 200 and "You are unsubscribed" in response.text


def test_manage_page_pause_resume_leave(client, series):
    sid, rid = _subscriber()
    token = make_token("manage", sid, rid)
    page = client.get(f"/manage/{token}")
    assert page.status_code == 200
    assert "reader@example.com" in page.text and f'action="/manage/{token}/pause"' in page.text

    response = client.post(
        f"/manage/{token}/pause", data={"series_id": rid}, follow_redirects=False
    )
    assert response.status_code == 303
    assert _status(sid) == ("active", ["paused"])
    assert "Paused." in client.get(response.headers["location"]).text

    client.post(f"/manage/{token}/resume", data={"series_id": rid})
    assert _status(sid) == ("active", ["active"])
    client.post(f"/manage/{token}/leave", data={"series_id": rid})
    assert _status(sid) == ("unsubscribed", ["unsubscribed"])
    assert client.post(f"/manage/{token}/explode", data={"series_id": rid}).status_code == 404


def test_manage_export_downloads_json(client, series):
    sid, rid = _subscriber()
    response = client.post(f"/manage/{make_token('manage', sid, rid)}/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert json.loads(response.text)["subscriber"]["email"] == "reader@example.com"


def test_erase_needs_confirmation(client, series):
    sid, rid = _subscriber()
    token = make_token("manage", sid, rid)
    page = client.get(f"/manage/{token}/erase")
    assert page.status_code == 200 and 'name="confirm" value="erase"' in page.text
    response = client.post(f"/manage/{token}/erase", follow_redirects=False)
    assert response.status_code == 303  # no confirmation: back to the question
    with transaction() as session:
        assert session.get(Subscriber, sid) is not None
    page = client.post(f"/manage/{token}/erase", data={"confirm": "erase"})
    assert page.status_code == 200 and "Your data is erased" in page.text
    with transaction() as session:
        erased = session.scalar(select(Subscriber))
        assert erased is None or (erased.email is None and erased.erased_at is not None)
    assert "Nothing stored" in client.get(f"/manage/{token}").text
