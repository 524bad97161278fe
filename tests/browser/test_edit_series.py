"""An editor changes an unsent part in the browser; the preview and the mail show it.

The whole path of an edit: the "Edit series" screen, the part editor (a plain form POST),
the preview's iframe, and then the real worker's mail for that part in the aiosmtpd sink.
The part is seeded due a few seconds after the test starts; there is no beat in the
test deployment, so it goes out when the test runs the tick the beat would run
(`tasks.tick_now`), after the edit. Screenshots: artifacts/screenshots/studio-edit-*.png.
"""

from __future__ import annotations

import datetime as dt
import time
from email import message_from_bytes, policy

import pytest

from newsletter.core.db.models import utcnow
from newsletter.core.db.session import transaction
from newsletter.delivery.tasks import tick_now
from newsletter.users import service as users
from tests.support.browser import SCREENSHOTS
from tests.support.factories import make_series, make_subscriber

pytestmark = pytest.mark.browser
PASSWORD = "editor password 12"
NEW_TEXT = "An opening rewritten in the console, minutes before it went out."


def _shoot(page, name: str) -> None:
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"studio-edit-{name}-{width}.png"), full_page=True)


def test_an_edit_reaches_the_preview_and_the_mail(deployment, browser) -> None:
    base = deployment.base_url
    with transaction() as session:
        users.create_user(session, "editor@example.com", PASSWORD, "editor")
        start = (utcnow() + dt.timedelta(seconds=20)).replace(microsecond=0)
        series = make_series(session, "labor", 2, start=start)
        make_subscriber(session, series, "reader@example.org")
        due = series.issues[0].scheduled_at

    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto(f"{base}/admin/login")
    page.fill("#email", "editor@example.com")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("nav[aria-label=Console]")

    page.goto(f"{base}/admin/series/labor")
    page.click("a:has-text('Edit series')")
    page.wait_for_selector("h1:has-text('Edit Labor Letters')")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _shoot(page, "series")
    page.click("#part-1 a:has-text('Edit text')")
    page.wait_for_selector("h1:has-text('Part 1 of 2')")
    page.fill("textarea[aria-label='Text of block 1']", NEW_TEXT)
    page.click("button:has-text('Save part')")
    page.wait_for_selector("[role=status]:has-text('Part saved')")
    assert page.input_value("textarea[aria-label='Text of block 1']") == NEW_TEXT
    _shoot(page, "part")

    page.click("main a:has-text('Preview')")
    for title in ("Desktop preview, light", "Mobile preview, light"):
        page.frame_locator(f"iframe[title='{title}']").get_by_text(NEW_TEXT, exact=True).wait_for()
    _shoot(page, "preview")

    while utcnow() < due:  # the part comes due; then the tick the beat would run
        time.sleep(0.2)
    result = tick_now()
    assert result.claimed == 1
    assert deployment.sink.wait_for(1, timeout=30), deployment.worker.output()
    ((_, recipients, data),) = deployment.sink.messages
    assert recipients == ["reader@example.org"]
    mail = message_from_bytes(data, policy=policy.default)
    for kind in ("plain", "html"):
        body = mail.get_body(preferencelist=(kind,))
        assert body is not None and NEW_TEXT in body.get_content(), kind
    page.goto(f"{base}/admin/series/labor/parts/1/edit")  # sent now: read-only
    page.wait_for_selector("text=stays as sent")
    assert page.locator("textarea[name=text]").count() == 0
