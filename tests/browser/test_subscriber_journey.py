"""End to end in headless Chromium: sign up, confirm, receive an issue, unsubscribe; and
the operator dashboard with real data. Screenshots at 375 px and 1280 px are saved.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Issue, Subscriber, SubscriberStatus, utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery import monitor
from newsletter.delivery.tasks import tick_now
from newsletter.users import service as users
from tests.support.browser import SCREENSHOTS, Deployment
from tests.support.factories import make_series, make_subscriber

pytestmark = pytest.mark.browser
WIDTHS = (375, 1280)
PASSWORD = "operator password 1"


def shoot(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def wait_for_mail(deployment: Deployment, count: int, timeout: float = 30) -> list[EmailMessage]:
    assert deployment.sink.wait_for(count, timeout=timeout), (
        f"only {len(deployment.sink.messages)} mails\nweb:\n{deployment.web.output()}"
        f"\nworker:\n{deployment.worker.output()}"
    )
    return [
        message_from_bytes(data, policy=policy.default) for _, _, data in deployment.sink.messages
    ]


def link(message: EmailMessage, base_url: str, path: str) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(re.escape(base_url) + re.escape(path) + r"[^\s<>\"')\]]+", text)
    assert match, text
    return match.group(0)


def test_sign_up_confirm_receive_and_unsubscribe(deployment, browser):
    base = deployment.base_url
    with transaction() as session:
        series = make_series(session, "labor", parts=3)
        series_id = series.id
    page = browser.new_page()

    page.goto(f"{base}/")
    shoot(page, "home")
    page.goto(f"{base}/s/labor")
    shoot(page, "series")
    page.fill("#email-labor", "Reader@Example.com")
    page.fill("#name-labor", "Ana Reader")
    page.click("text=Subscribe to Labor Letters")
    page.wait_for_selector("h1:has-text('Check your inbox')")
    shoot(page, "check-inbox")

    (confirmation,) = wait_for_mail(deployment, 1)
    assert confirmation["To"].addresses[0].addr_spec == "Reader@example.com"
    # The link shows a button; with JavaScript on, the page presses it by itself.
    page.goto(link(confirmation, base, "/confirm/"))
    page.wait_for_selector("h1:has-text('You are subscribed')")
    shoot(page, "confirmed")
    with transaction() as session:
        assert session.scalar(select(Subscriber.status)) == SubscriberStatus.ACTIVE

    with transaction() as session:
        issue = session.scalar(select(Issue).where(Issue.series_id == series_id, Issue.number == 1))
        issue.scheduled_at = utcnow() - dt.timedelta(minutes=1)
    result = tick_now()
    assert result.claimed == 1
    _, issue_mail = wait_for_mail(deployment, 2)
    assert issue_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    page.goto(link(issue_mail, base, "/archive/labor/"))
    page.wait_for_selector("blockquote")
    shoot(page, "archive-part")

    page.goto(link(issue_mail, base, "/unsubscribe/"))
    page.wait_for_selector("h1:has-text('Unsubscribe?')")
    shoot(page, "unsubscribe")
    with transaction() as session:  # the page alone changed nothing
        assert session.scalar(select(Subscriber.status)) == SubscriberStatus.ACTIVE
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("h1:has-text('You are unsubscribed')")
    shoot(page, "unsubscribed")
    with transaction() as session:
        assert session.scalar(select(Subscriber.status)) == SubscriberStatus.UNSUBSCRIBED


def test_forms_work_with_javascript_off(deployment, browser):
    with transaction() as session:
        make_series(session, "labor", parts=2)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{deployment.base_url}/s/labor")
    page.fill("#email-labor", "nojs@example.com")
    page.click("text=Subscribe to Labor Letters")
    page.wait_for_selector("h1:has-text('Check your inbox')")
    page.goto(f"{deployment.base_url}/s/labor")
    page.fill("#email-labor", "not an address")
    page.click("text=Subscribe to Labor Letters")
    page.wait_for_selector("[role=alert]")
    shoot(page, "signup-error")
    context.close()


def test_confirming_with_javascript_off_takes_a_press_of_the_button(deployment, browser):
    """What a link-following scanner sees: a page that changes nothing until pressed."""
    base = deployment.base_url
    with transaction() as session:
        make_series(session, "labor", parts=2)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/s/labor")
    page.fill("#email-labor", "nojs@example.com")
    page.click("text=Subscribe to Labor Letters")
    page.wait_for_selector("h1:has-text('Check your inbox')")
    (confirmation,) = wait_for_mail(deployment, 1)

    page.goto(link(confirmation, base, "/confirm/"))
    page.wait_for_selector("h1:has-text('Confirm your subscription')")
    shoot(page, "confirm")
    time.sleep(1)  # time enough for anything that would confirm by itself
    with transaction() as session:
        assert session.scalar(select(Subscriber.status)) == SubscriberStatus.PENDING
    page.click("button:has-text('Yes, subscribe me')")
    page.wait_for_selector("h1:has-text('You are subscribed')")
    with transaction() as session:
        assert session.scalar(select(Subscriber.status)) == SubscriberStatus.ACTIVE
    page.go_back()  # the button page again; pressing it again is still "subscribed"
    page.click("button:has-text('Yes, subscribe me')")
    page.wait_for_selector("h1:has-text('You are subscribed')")
    context.close()


def test_operator_dashboard_renders_with_data(deployment, browser):
    base = deployment.base_url
    with transaction() as session:
        series = make_series(session, "labor", parts=2)
        for n in range(3):
            make_subscriber(session, series, f"r{n}@example.com")
        series.issues[0].scheduled_at = utcnow() - dt.timedelta(minutes=1)
        users.create_user(session, "admin@example.com", PASSWORD, "admin")
    deployment.sink.reject(["r2@example.com"])
    tick_now()
    wait_for_mail(deployment, 2)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the bounce is recorded just after the sink answers
        with transaction() as session:
            if monitor.deliveries_by_status(session)["bounced"] == 1:
                break
        time.sleep(0.2)

    page = browser.new_page()
    page.goto(f"{base}/admin/queue")
    page.wait_for_selector("h1:has-text('Console sign-in')")
    shoot(page, "admin-login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Queue')")
    assert page.locator(".stat").count() >= 6
    assert "2 sent" in page.inner_text("main")
    assert "1 bounced" in page.inner_text("main")
    assert page.locator("svg.chart rect.col").count() >= 1
    assert "5.1.1" in page.inner_text("main")
    shoot(page, "admin-queue")

    page.goto(f"{base}/admin/series/labor")
    page.wait_for_selector("table")
    shoot(page, "admin-series")
    page.goto(f"{base}/admin/series/labor/preview/2")
    for title in ("Desktop preview, light", "Mobile preview, light"):
        page.frame_locator(f"iframe[title='{title}']").locator("text=Part 2 closes.").wait_for()
    shoot(page, "admin-preview")
