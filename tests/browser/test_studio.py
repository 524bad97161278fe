"""The studio in headless Chromium: an editor pastes a manuscript, fixes the block the
parser flagged, creates a serial series and previews part 2, light and dark."""

from __future__ import annotations

import pytest

from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from newsletter.users import service as users
from tests.support.browser import SCREENSHOTS

pytestmark = pytest.mark.browser
PASSWORD = "editor password 12"
FLAGGED = "Waking is a habit, and habits can be learned. So can sleep."
MANUSCRIPT = f"""The Quiet Hours

Most of the city sleeps between three and five, and the people who keep
it running in those hours are the ones nobody thanks. They drive the
empty buses and bake the bread that appears on counters at six.
Nobody thanks the people who keep the city running.
The baker on our corner has done this for thirty years. She says the
trick is not to fight the hour but to belong to it, and that the hour is
generous to those who do.

# Why Do We Wake?

Her hands kept folding the dough while she spoke, a rhythm older than the
conversation and steadier than either of us, and she did not look up once.

{FLAGGED}

The body keeps its own calendar, and after enough mornings it stops asking
permission. What started as discipline becomes a kind of weather.
"""


def _sign_in(page, base: str) -> None:
    with transaction() as session:
        users.create_user(session, "editor@example.com", PASSWORD, "editor")
    page.goto(f"{base}/admin/login")
    page.fill("#email", "editor@example.com")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("nav[aria-label=Console]")


def _shoot(page, name: str) -> None:
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SCREENSHOTS / f"studio-{name}-{width}.png"), full_page=True)


def test_editor_pastes_fixes_a_block_creates_a_serial_series_and_previews_part_2(
    deployment, browser
) -> None:
    base = deployment.base_url
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(page, base)
    page.goto(f"{base}/admin/series")
    page.goto(f"{base}/admin/series/new")
    page.fill("#manuscript", MANUSCRIPT)
    page.click("button:has-text('Parse')")
    page.wait_for_selector("h2:has-text('Part 2: Why Do We Wake?')")

    # The parse, highlighted: the hard-wrapped quote without blank lines was found, and the
    # two-sentence line is flagged on its block and in the list of lines to check.
    assert page.locator("#e0b1").get_attribute("data-kind") == "pull_quote"
    flagged = page.locator("#e1b1")
    assert flagged.get_attribute("data-kind") == "paragraph"
    assert "studio-warn" in (flagged.get_attribute("class") or "")
    assert "two sentences" in flagged.inner_text()
    assert "1 line to check" in page.inner_text("main")
    _shoot(page, "new-parsed")

    # Fix it: the editor makes it a pull quote; the flag goes with the decision.
    page.set_viewport_size({"width": 1280, "height": 900})
    flagged.locator("button:has-text('Make pull quote')").click()
    page.wait_for_selector("#e1b1[data-kind=pull_quote]")
    assert page.locator(".studio-warn").count() == 0

    page.fill("#title", "Night Work")
    page.fill("#slug", "night-work")
    page.select_option("#mode", "serial")
    page.fill("#cadence", "weekly")
    page.fill("#start", "2030-01-07T09:00")
    page.fill("#timezone", "Europe/Berlin")
    page.click("button:has-text('Create series')")
    page.wait_for_url(f"{base}/admin/series/night-work")
    assert "serial" in page.inner_text("main")
    with transaction() as session:
        series = session.query(Series).filter_by(slug="night-work").one()
        assert series.mode == "serial" and len(series.essays) == 2
        assert series.essays[1].blocks[1] == {"type": "pull_quote", "text": FLAGGED}

    page.click("a[href='/admin/series/night-work/preview/2']")
    page.wait_for_selector("h1:has-text('Part 2: Why Do We Wake?')")
    for title in ("Desktop preview, light", "Mobile preview, light"):
        frame = page.frame_locator(f"iframe[title='{title}']")
        assert frame.locator(".pull-quote").inner_text().strip() == FLAGGED
    light = page.frame_locator("iframe[title='Desktop preview, light']").locator("body")
    light_bg = light.evaluate("b => getComputedStyle(b).backgroundColor")
    page.click("nav.scheme-switch a:has-text('Dark')")
    page.wait_for_selector("iframe[title='Desktop preview, dark']")
    dark = page.frame_locator("iframe[title='Desktop preview, dark']")
    dark_bg = dark.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")
    assert dark_bg == "rgb(21, 19, 17)" and light_bg != dark_bg
    assert dark.locator(".pull-quote").inner_text().strip() == FLAGGED
    _shoot(page, "preview-dark")
