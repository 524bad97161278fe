"""Every console page in headless Chromium at 375 px and 1280 px, and the CSV import.

The pages are listed from the app's own routes (every GET under /admin that is a page, not
a download), so a page added later is covered without touching this file; a route whose
path parameter this file cannot fill fails, naming the parameter. At 375 px the page itself
must not scroll sideways, a table box that does scroll shows its "scroll →" cue, and chart
labels are at least 11 px on screen. Screenshots at both widths go to
artifacts/screenshots/console-*.png for review.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import update

from newsletter.core.db.models import DeliveryStatus, Subscription, utcnow
from newsletter.core.db.session import transaction
from newsletter.scheduling.drafts import start_draft
from newsletter.users import service as users
from newsletter.web.application import create_app
from tests.support.browser import SCREENSHOTS
from tests.support.factories import add_subscribers, make_delivery, make_series, make_subscriber

pytestmark = pytest.mark.browser
PASSWORD = "admin password 12"
LONG_REPLY = (
    "550 5.7.1 Service unavailable; client host [203.0.113.7] blocked using "
    "zen.spamhaus.example; https://www.spamhaus.example/query/ip/203.0.113.7"
    "?reason=listed-on-the-policy-block-list-for-sending-to-this-domain"
)
CSV = (
    "email,name\nana@example.org,Ana\nnot-an-address,Bad\n"
    "ben@example.org,Ben\nana@example.org,Twice\n"
)
DOWNLOAD = re.compile(r"\.(csv|json|html|txt)$")


SEED_DRAFT = (
    "A First Essay\n\nIts opening paragraph, long enough to read as one.\n\n"
    "One line that stands alone.\n\nAnd a closing paragraph after the quote.\n\n"
    "A Second Essay\n\nThe second part opens here, long enough to read as prose.\n\n"
    '"Is that so?"\n\n"It is."\n\nAnd the second part closes with a paragraph too.\n'
)


def _seed() -> dict[str, str]:
    """Both modes, readers spread over parts, a failure with a long SMTP reply; returns the
    values for the routes' path parameters."""
    with transaction() as session:
        admin = users.create_user(session, "admin@example.com", PASSWORD, "admin")
        start = utcnow() + dt.timedelta(days=2)
        labor = make_series(
            session,
            "labor",
            3,
            published=1,
            cadence="weekly",
            start=start,
            timezone="Europe/Berlin",
        )
        person = make_subscriber(session, labor, "long.address.for.a.narrow.screen@example.org")
        make_delivery(session, labor, person, 1, DeliveryStatus.FAILED, error=LONG_REPLY)
        for n in range(3):
            other = make_subscriber(session, labor, f"r{n}@example.com")
            make_delivery(session, labor, other, 1, DeliveryStatus.SENT)
        nyc = make_series(session, "nyc", 6, mode="serial", start=utcnow() - dt.timedelta(days=3))
        readers = add_subscribers(session, nyc, 12, next_due_at=utcnow() + dt.timedelta(hours=5))
        for part, ids in ((2, readers[:4]), (4, readers[4:6])):
            session.execute(
                update(Subscription)
                .where(Subscription.subscriber_id.in_(ids))
                .values(next_part=part)
            )
        draft = start_draft(session, admin.id, SEED_DRAFT)
        return {
            "draft_id": str(draft.id),
            "form": "block",
            "slug": "labor",
            "number": "2",
            "issue_id": str(labor.issues[0].id),
            "user_id": str(admin.id),
            "subscriber_id": str(person.id),
        }


def console_pages(values: dict[str, str]) -> list[str]:
    """Each GET page under /admin, its path parameters filled from the seeded data."""
    urls = []
    for route in iter_route_contexts(create_app().routes):
        if not route.path.startswith("/admin") or "GET" not in (route.methods or ()):
            continue
        if DOWNLOAD.search(route.path):
            continue
        missing = set(re.findall(r"{(\w+)", route.path)) - set(values)
        assert not missing, f"{route.path}: seed a value for {missing} in _seed()"
        urls.append(re.sub(r"{(\w+)(:\w+)?}", lambda m: values[m.group(1)], route.path))
    return [*urls, "/admin/series/nyc"]


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("nav[aria-label=Console]")


def shot_name(url: str) -> str:
    return "console-" + (
        re.sub(r"[^a-z0-9]+", "-", url.removeprefix("/admin")).strip("-") or "home"
    )


def check_narrow(page, url: str) -> None:
    """At 375 px: no sideways scroll of the page, a cue on every table box that scrolls,
    chart labels ≥ 11 px on screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{url} is {width} px wide at 375"
    uncued = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')]
             .filter(b => b.scrollWidth > b.clientWidth + 1 && !b.hasAttribute('data-overflow'))
             .length"""
    )
    assert uncued == 0, f"{url}: a table scrolls without its cue"
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')]
             .filter(t => getComputedStyle(t).display !== 'none')
             .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
    )
    assert all(size >= 11 for size in sizes), f"{url}: chart labels of {min(sizes):.1f} px"


def test_every_console_page_fits_375_px(deployment, browser) -> None:
    base = deployment.base_url
    urls = console_pages(_seed())
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(f"{base}/admin/login")
    check_narrow(page, "/admin/login")
    page.screenshot(path=str(SCREENSHOTS / "console-sign-in-375.png"), full_page=True)
    sign_in(page, base)
    checked = []
    for url in urls:
        page.set_viewport_size({"width": 375, "height": 800})
        response = page.goto(f"{base}{url}")
        assert response is not None and response.status < 400, (
            f"{url}: {response and response.status}"
        )
        page.wait_for_load_state("load")
        check_narrow(page, url)
        for width in (375, 1280):
            page.set_viewport_size({"width": width, "height": 800})
            page.screenshot(path=str(SCREENSHOTS / f"{shot_name(url)}-{width}.png"), full_page=True)
        checked.append(url)
    assert {"/admin/subscribers", "/admin/schedule", "/admin/queue"} <= set(checked)
    print(f"\nscreenshots of {len(checked) + 1} console pages: {SCREENSHOTS}/console-*.png")


def test_admin_imports_a_csv_and_sees_the_bad_rows_named(deployment, browser, tmp_path) -> None:
    base = deployment.base_url
    _seed()
    page = browser.new_page(viewport={"width": 375, "height": 800})
    sign_in(page, base)
    page.goto(f"{base}/admin/subscribers")
    page.set_input_files(
        "#imp-file",
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
    )
    page.select_option("#imp-series", "nyc")
    page.check("#import ~ form input[name=confirmed]")
    page.click("button:has-text('Import')")
    page.wait_for_selector("h1:has-text('Import into nyc')")
    text = page.inner_text("main")
    assert "Imported 2, skipped 2" in text
    bad = page.locator("tr.bad-row").all_inner_texts()
    assert len(bad) == 2
    assert "line 3" in bad[0] and "invalid email address" in bad[0]
    assert "line 5" in bad[1] and "line 2" in bad[1]  # the duplicate names its first line
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(
            path=str(SCREENSHOTS / f"console-import-result-{width}.png"), full_page=True
        )
    page.goto(f"{base}/admin/subscribers?q=ben%40example.org")
    page.click("main a:has-text('ben@example.org')")
    page.wait_for_selector("h1:has-text('ben@example.org')")
    assert "active" in page.inner_text("main")
