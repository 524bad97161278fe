"""The console's "Edit series" screens as plain form POSTs (no JavaScript).

The `series` fixture is "labor": three weekly broadcast parts, part 1 already sent.
"""

from __future__ import annotations

from typing import Any

from newsletter.core.db.models import Series
from newsletter.core.db.session import transaction
from newsletter.core.settings import get_settings
from newsletter.delivery import testsend
from newsletter.scheduling.series import get_series
from tests.support.console import login
from tests.support.factories import make_account

EDIT = "/admin/series/labor/edit"


def _state() -> dict[str, Any]:
    """Everything an edit could change: settings, sender, each part's title and blocks."""
    with transaction() as session:
        series = get_series(session, "labor")
        return {
            "title": series.title,
            "description": series.description,
            "from_name": series.from_name,
            "reply_to": series.reply_to,
            "revision": series.revision,
            "parts": [(e.number, e.title, e.blocks) for e in series.essays],
        }


def _editor(client) -> str:
    return login(client, make_account("editor"))


def _settings(token: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": token, "title": "Labor Letters", "description": "Essays.",
        "from_name": "", "from_address": "", "reply_to": "", "footer_text": "",
        "postal_address": "",
    }  # fmt: skip
    return {**values, **changes}


def test_the_edit_screen_lists_parts_and_shows_defaults(client, series) -> None:
    _editor(client)
    assert 'href="/admin/series/labor/edit"' in client.get("/admin/series/labor").text
    page = client.get(EDIT)
    assert page.status_code == 200
    text = page.text
    assert "sent — stays as sent" in text
    assert 'href="/admin/series/labor/parts/1/edit"' not in text  # sent: no controls
    assert 'href="/admin/series/labor/parts/2/edit"' in text
    assert 'action="/admin/series/labor/parts/1/move"' not in text
    assert 'action="/admin/series/labor/parts/3/remove"' in text
    assert 'href="/admin/series/labor/preview/3"' in text
    assert f'placeholder="{get_settings().postal_address}"' in text
    assert 'name="next" value="/admin/series/labor/edit"' in text


def test_edit_description_and_sender_then_back_to_default(client, series) -> None:
    token = _editor(client)
    saved = client.post(
        EDIT,
        data=_settings(token, description="New words.", from_name="Ed", reply_to="r@example.org"),
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{EDIT}?done=saved"
    assert "Series settings saved" in client.get(saved.headers["location"]).text
    state = _state()
    assert state["description"] == "New words." and state["from_name"] == "Ed"
    assert state["reply_to"] == "r@example.org"
    client.post(EDIT, data=_settings(token, description="New words."))
    state = _state()
    assert state["from_name"] is None and state["reply_to"] is None  # blank = the default


def test_settings_mistakes_keep_what_was_typed(client, series) -> None:
    token = _editor(client)
    before = _state()
    for changes, status, message in (
        ({"title": "  "}, 400, "title is empty"),
        ({"description": "Words\x1b[31m"}, 400, "control character"),
        ({"from_address": "not an address"}, 400, "not a valid address"),
    ):
        page = client.post(EDIT, data=_settings(token, **changes, footer_text="Kept text"))
        assert page.status_code == status and message in page.text
        assert "Kept text" in page.text  # nothing lost
    assert _state() == before
    assert client.post("/admin/series/nope/edit", data=_settings(token)).status_code == 404


def _part_form(token: str, title: str, blocks: list[tuple[str, str]], **extra: Any) -> dict:
    texts = [t for t, _ in blocks]
    kinds = [k for _, k in blocks]
    return {"csrf_token": token, "title": title, "text": texts, "kind": kinds, **extra}


def test_edit_an_unsent_part_text_and_kinds(client, series) -> None:
    token = _editor(client)
    url = "/admin/series/labor/parts/2/edit"
    page = client.get(url)
    assert page.status_code == 200 and 'name="kind"' in page.text
    assert 'href="/admin/series/labor/preview/2"' in page.text
    assert f'name="next" value="{url}"' in page.text and 'name="number" value="2"' in page.text
    blocks = [
        ("A rewritten opening.", "paragraph"),
        ("A quote now.", "pull_quote"),
        ("This one goes.", "paragraph"),
        ("A new closing block.", "paragraph"),  # the empty new block, filled in
    ]
    saved = client.post(
        url, data=_part_form(token, "Part Two, Revised", blocks, remove=["2"]),
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303 and saved.headers["location"] == f"{url}?done=part-saved"
    assert "Part saved" in client.get(saved.headers["location"]).text
    state = _state()
    assert state["parts"][1] == (
        2,
        "Part Two, Revised",
        [
            {"type": "paragraph", "text": "A rewritten opening."},
            {"type": "pull_quote", "text": "A quote now."},
            {"type": "paragraph", "text": "A new closing block."},
        ],
    )
    # an empty new block is left out
    client.post(url, data=_part_form(token, "Again", [("Only.", "paragraph"), ("", "paragraph")]))
    assert _state()["parts"][1][2] == [{"type": "paragraph", "text": "Only."}]


def test_part_mistakes_change_nothing_and_keep_the_text(client, series) -> None:
    token = _editor(client)
    url = "/admin/series/labor/parts/2/edit"
    before = _state()
    keep = ("Typed and kept.", "paragraph")
    for form, status, message in (
        (_part_form(token, " ", [keep, ("", "paragraph")]), 400, "title is empty"),
        (_part_form(token, "T\x00", [keep, ("", "paragraph")]), 400, "control character"),
        (_part_form(token, "T", [keep, ("x\x1b", "paragraph")]), 400, "control character"),
        (_part_form(token, "T", [("x", "heading"), keep]), 400, "paragraph or pull_quote"),
        (_part_form(token, "T", [("  ", "paragraph"), keep]), 400, "block 1 is empty"),
        (_part_form(token, "T", [keep, ("", "paragraph")], remove=["0"]), 400, "at least one"),
        ({"csrf_token": token, "title": "T", "text": ["a", "b"], "kind": ["paragraph"]}, 400,
         "incomplete"),
    ):  # fmt: skip
        page = client.post(url, data=form)
        assert page.status_code == status and message in page.text, form
    page = client.post(url, data=_part_form(token, " ", [keep, ("", "paragraph")]))
    assert "Typed and kept." in page.text
    assert _state() == before
    unknown = client.post("/admin/series/labor/parts/9/edit", data=_part_form(token, "T", [keep]))
    assert unknown.status_code == 404
    assert client.get("/admin/series/labor/parts/9/edit").status_code == 404
    assert client.get("/admin/series/nope/parts/1/edit").status_code == 404
    assert _state() == before


def test_a_sent_part_is_read_only(client, series) -> None:
    token = _editor(client)
    url = "/admin/series/labor/parts/1/edit"
    page = client.get(url)
    assert page.status_code == 200 and "stays as sent" in page.text
    assert 'name="kind"' not in page.text
    before = _state()
    refused = client.post(url, data=_part_form(token, "History", [("Rewritten.", "paragraph")]))
    assert refused.status_code == 409 and "was sent" in refused.text
    assert _state() == before


def test_move_remove_and_add(client, series) -> None:
    token = _editor(client)
    moved = client.post(
        "/admin/series/labor/parts/3/move", data={"csrf_token": token, "to": "2"},
        follow_redirects=False,
    )  # fmt: skip
    assert moved.status_code == 303 and moved.headers["location"].startswith(f"{EDIT}?done=moved")
    assert [t for _, t, _ in _state()["parts"]] == [
        "Essay 1 & <friends>", "Essay 3 & <friends>", "Essay 2 & <friends>",
    ]  # fmt: skip
    before = _state()
    for number, to, status in (("3", "1", 409), ("1", "2", 409), ("3", "7", 400), ("9", "2", 404)):
        page = client.post(
            f"/admin/series/labor/parts/{number}/move", data={"csrf_token": token, "to": to}
        )
        assert page.status_code == status
    assert _state() == before
    removed = client.post("/admin/series/labor/parts/2/remove", data={"csrf_token": token})
    assert removed.status_code == 200 and "Part removed" in removed.text
    assert [t for _, t, _ in _state()["parts"]] == ["Essay 1 & <friends>", "Essay 2 & <friends>"]
    assert (
        client.post("/admin/series/labor/parts/1/remove", data={"csrf_token": token}).status_code
        == 409
    )
    added = client.post(
        "/admin/series/labor/parts/add",
        data={"csrf_token": token, "title": "A Fresh Part", "text": "One.\n\n> Quoted.",
              "position": "2"},
        follow_redirects=False,
    )  # fmt: skip
    assert added.status_code == 303
    parts = _state()["parts"]
    assert parts[1] == (
        2,
        "A Fresh Part",
        [{"type": "paragraph", "text": "One."}, {"type": "pull_quote", "text": "Quoted."}],
    )
    assert len(parts) == 3


def test_add_part_mistakes_keep_what_was_typed(client, series) -> None:
    token = _editor(client)
    before = _state()
    for form, status, message in (
        ({"title": "", "text": "Kept words."}, 400, "title is empty"),
        ({"title": "T", "text": "Kept words.", "position": "1"}, 409, "goes after it"),
        ({"title": "T", "text": "Kept words.", "position": "x"}, 400, "part number"),
        ({"title": "T", "text": "Kept words.\x07"}, 400, "control character"),
        ({"title": "Kept words.", "text": "  "}, 400, "at least one block"),
    ):
        page = client.post("/admin/series/labor/parts/add", data={"csrf_token": token, **form})
        assert page.status_code == status and message in page.text
        assert "Kept words." in page.text
    assert _state() == before


def test_operators_are_refused_and_csrf_is_required(client, series) -> None:
    login(client, make_account("operator"))
    assert client.get(EDIT).status_code == 403
    assert client.get("/admin/series/labor/parts/2/edit").status_code == 403
    client.post("/admin/logout", data={"csrf_token": "x"})
    client.cookies.clear()
    _editor(client)
    before = _state()
    assert client.post(EDIT, data=_settings("")).status_code == 403
    assert client.post(EDIT, data=_settings("x" * 64, title="Changed")).status_code == 403
    assert client.post("/admin/series/labor/parts/2/remove").status_code == 403
    assert _state() == before


def test_the_series_page_links_to_editing_unsent_parts(client, series) -> None:
    _editor(client)
    page = client.get("/admin/series/labor").text
    assert 'href="/admin/series/labor/parts/1/edit"' not in page
    assert 'href="/admin/series/labor/parts/2/edit"' in page
    with transaction() as session:
        assert session.query(Series).count() == 1


def test_a_test_send_returns_to_the_edit_screen(client, series, monkeypatch) -> None:
    sent: list[str] = []

    class FakeTransport:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send(self, sender, recipient, data):
            sent.append(recipient)

    monkeypatch.setattr(testsend, "open_transport", lambda settings: FakeTransport())
    token = _editor(client)
    url = "/admin/series/labor/parts/2/edit"
    back = client.post(
        "/admin/series/labor/test",
        data={"csrf_token": token, "number": "2", "email": "me@example.com", "next": url},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == f"{url}?done=tested"
    assert "Test message sent" in client.get(back.headers["location"]).text
    assert sent == ["me@example.com"]


def test_a_blank_line_typed_in_a_block_makes_two_blocks(client, series) -> None:
    token = _editor(client)
    url = "/admin/series/labor/parts/2/edit"
    blocks = [
        ("First thought.\r\n\r\nSecond thought.", "pull_quote"),  # as a browser posts it
        ("", "paragraph"),
    ]
    client.post(url, data=_part_form(token, "Two Thoughts", blocks))
    assert _state()["parts"][1][2] == [
        {"type": "pull_quote", "text": "First thought."},
        {"type": "paragraph", "text": "Second thought."},
    ]
