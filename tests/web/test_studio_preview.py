"""The studio's warnings on blocks, the draft's previews and test sends, light and dark
previews of a stored part, and the manuscript help page."""

from __future__ import annotations

import email
import email.policy

import pytest

from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.scheduling import drafts, editing
from newsletter.web import preview
from tests.support.console import login
from tests.support.factories import make_account, make_series

DIALOGUE = (
    "Overheard\n\n"
    "The baker had been awake since three. The bread was nearly done by then.\n\n"
    '"Are you open yet?"\n\nHe asked it twice.\n\n'
    "The man at the door checked his watch. He decided that he could wait.\n\n"
    "Second Part\n\nIt opens with a paragraph of its own. It is long enough to be prose.\n\n"
    "A single sentence that stands alone between paragraphs.\n\n"
    "And it goes on with another paragraph, one that takes its time about it. It is long"
    " enough to read as one, and then some more.\n\n"
    "Waking is a habit, and habits can be learned. So can sleep.\n\n"
    "The body keeps its own calendar, whatever we tell it. After enough mornings it stops"
    " asking permission, and the alarm becomes a formality.\n"
)


def _draft(client, token: str, text: str = DIALOGUE) -> str:
    made = client.post(
        "/admin/series/new",
        data={"csrf_token": token, "manuscript": text},
        follow_redirects=False,
    )
    assert made.status_code == 303
    return made.headers["location"]


def test_warnings_sit_on_their_blocks_and_an_edit_clears_one(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    url = _draft(client, token)
    page = client.get(url).text
    assert "2 lines to check" in page
    assert page.count('studio-warn"') + page.count("studio-warn ") >= 2
    assert 'href="#e0b1"' in page and "dialogue?" in page and 'href="#e1b3"' in page
    client.post(f"{url}/block", data={"csrf_token": token, "essay": "0", "index": "1",
                                      "action": "kind"})  # fmt: skip
    page = client.get(url).text
    assert "1 line to check" in page and 'href="#e0b1"' not in page


def test_warnings_follow_a_block_through_a_merge(sqlite_db) -> None:
    owner = make_account("editor")
    with transaction() as session:
        draft = drafts.start_draft(session, owner.id, DIALOGUE)
        assert [(w["essay"], w["block"]) for w in drafts.warnings_of(draft.data)] == [
            (0, 1),
            (1, 3),
        ]
        drafts.edit_block(draft, 1, 0, "merge")  # two blocks before it become one
        assert [(w["essay"], w["block"]) for w in drafts.warnings_of(draft.data)] == [
            (0, 1),
            (1, 2),
        ]
        drafts.edit_block(draft, 0, 0, "merge")  # block 1 merged into 0: its warning goes
        assert [(w["essay"], w["block"]) for w in drafts.warnings_of(draft.data)] == [(1, 2)]


def test_a_draft_part_previews_light_and_dark(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    url = _draft(client, token)
    page = client.get(f"{url}/preview/2")
    assert page.status_code == 200 and "Part 2: Second Part" in page.text
    assert f'src="{url}/preview/2/email.html?scheme=light"' in page.text
    dark = client.get(f"{url}/preview/2?scheme=dark").text
    assert f'src="{url}/preview/2/email.html?scheme=dark"' in dark
    light = client.get(f"{url}/preview/2/email.html")
    assert "A single sentence that stands alone" in light.text
    assert "frame-ancestors 'self'" in light.headers["content-security-policy"]
    assert "@media (prefers-color-scheme: dark)" in light.text
    dark_html = client.get(f"{url}/preview/2/email.html?scheme=dark").text
    assert "@media (prefers-color-scheme: dark)" not in dark_html and "@media all" in dark_html
    assert client.get(f"{url}/preview/3").status_code == 404
    assert client.get(f"{url}/preview/0/email.html").status_code == 404


def test_another_editors_draft_is_not_found(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    url = _draft(client, token)
    client.cookies.clear()
    login(client, make_account("editor", email="other@example.com"))
    assert client.get(f"{url}/preview/1").status_code == 404
    assert client.get(f"{url}/preview/1/email.html").status_code == 404


def test_a_draft_part_goes_out_as_a_test(client, sqlite_db, sink) -> None:
    token = login(client, make_account("editor"))
    url = _draft(client, token)
    sent = client.post(
        f"{url}/test",
        data={"csrf_token": token, "number": "2", "email": "me@example.com",
              "next": f"{url}/preview/2?scheme=dark"},
        follow_redirects=False,
    )  # fmt: skip
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{url}/preview/2?scheme=dark&done=tested"
    assert sink.wait_for(1)
    ((_, recipients, data),) = sink.messages
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert recipients == ["me@example.com"] and message["Subject"].startswith("[TEST]")
    assert "A single sentence that stands alone" in message.get_body(("plain",)).get_content()
    assert "Test message sent" in client.get(f"{url}/preview/2?scheme=dark&done=tested").text
    bad = client.post(f"{url}/test", data={"csrf_token": token, "number": "2", "email": "x"})
    assert bad.status_code == 400 and len(sink.messages) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/admin/series/labor/preview/2?scheme=dark", "/admin/series/labor/preview/2?scheme=dark"),
        ("https://evil.example/admin/series/labor/", "/admin/series/labor"),
        ("/admin/series/labor//evil.example", "/admin/series/labor"),
        ("/admin/users", "/admin/series/labor"),
        (None, "/admin/series/labor"),
    ],
)
def test_the_way_back_after_a_test_stays_on_the_series(value, expected) -> None:
    assert preview.safe_next(value, "/admin/series/labor/", "/admin/series/labor") == expected


def test_a_stored_part_previews_dark(client, sqlite_db) -> None:
    with transaction() as session:
        make_series(session, "labor", 3)
    login(client, make_account("editor"))
    page = client.get("/admin/series/labor/preview/2?scheme=dark").text
    assert 'aria-current="true">Dark' in page and "Send part 2 to" in page
    html = client.get("/admin/series/labor/preview/2/email.html?scheme=dark").text
    assert "@media all" in html
    assert client.get("/admin/series/labor/preview/2?scheme=bogus").status_code == 200


def test_the_manuscript_help_page_shows_a_live_parse(client, sqlite_db) -> None:
    login(client, make_account("operator"))
    page = client.get("/admin/help/manuscript")
    assert page.status_code == 200
    text = page.text
    assert "Part 1: The Quiet Hours" in text and "Part 2: Why Do We Wake?" in text
    assert text.count('class="studio-block studio-pull_quote"') == 2
    assert "dialogue?" in text and "two sentences" in text  # the parser's own warnings


def test_split_uses_the_posted_text_and_its_cursor(sqlite_db) -> None:
    owner = make_account("editor")
    with transaction() as session:
        draft = drafts.start_draft(session, owner.id, DIALOGUE)
        # A browser posts CRLF; the editor typed a blank line where the block should split.
        drafts.edit_block(draft, 0, 0, "split", "The baker had been awake since three.\r\n\r\n"
                          "The bread was nearly done by then.")  # fmt: skip
        texts = [b["text"] for b in draft.data["essays"][0]["blocks"][:2]]
        assert texts == [
            "The baker had been awake since three.",
            "The bread was nearly done by then.",
        ]
        posted = "One line.\r\nTwo line."  # the cursor after "One line.\n" (LF-normalised)
        drafts.edit_block(draft, 0, 1, "split", posted, at=len("One line.\n"))
        texts = [b["text"] for b in draft.data["essays"][0]["blocks"][1:3]]
        assert texts == ["One line.", "Two line."]
        with pytest.raises(UserError):
            drafts.edit_block(draft, 0, 1, "split", "No blank line here.")


def test_a_test_send_carries_the_series_own_sender(client, sqlite_db, sink) -> None:
    with transaction() as session:
        make_series(session, "labor", 3)
        editing.update_series(
            session,
            "labor",
            {"from_name": "The Desk", "from_address": "desk@example.org",
             "reply_to": "replies@example.org"},
        )  # fmt: skip
    token = login(client, make_account("editor"))
    sent = client.post(
        "/admin/series/labor/test",
        data={"csrf_token": token, "number": "2", "email": "me@example.com"},
        follow_redirects=False,
    )
    assert sent.status_code == 303 and sink.wait_for(1)
    message = email.message_from_bytes(sink.messages[0][2], policy=email.policy.default)
    assert message["From"] == "The Desk <desk@example.org>"
    assert message["Reply-To"] == "replies@example.org"


def test_a_long_paragraph_cannot_become_a_title(sqlite_db) -> None:
    owner = make_account("editor")
    with transaction() as session:
        draft = drafts.start_draft(session, owner.id, DIALOGUE)
        long = "word " * 40
        with pytest.raises(UserError, match="at most 120 characters, this one has 199"):
            drafts.edit_block(draft, 1, 2, "title", long)
        with pytest.raises(UserError, match="at most 120"):
            drafts.edit_part(draft, 0, "rename", long)


def test_a_refused_test_address_stays_in_the_form_with_the_scheme(client, sqlite_db) -> None:
    token = login(client, make_account("editor"))
    url = _draft(client, token)
    page = client.post(
        f"{url}/test",
        data={"csrf_token": token, "number": "2", "email": "ed@localhost",
              "next": f"{url}/preview/2?scheme=dark"},
    )  # fmt: skip
    assert page.status_code == 400
    assert 'value="ed@localhost"' in page.text and 'aria-invalid="true"' in page.text
    assert 'iframe title="Desktop preview, dark"' in page.text
