"""The plain-text manuscript parser: the seed in every layout, explicit markers, bad text."""

from __future__ import annotations

import textwrap

import pytest

from newsletter.content import ContentError, analyse_manuscript, parse_manuscript
from tests.support.seedtext import as_pairs, expected_essays, seed_lines

LONG = (
    "This paragraph is long enough to read as body text. It goes on for a while about work, "
    "about machines and about the people who keep them running day and night. "
)
PARA_A = LONG * 2
PARA_B = LONG * 3


def parse(text: str):
    return parse_manuscript(text, slug="test-series")


def test_seed_titles_blocks_and_text_are_exact(seed_path) -> None:
    series = parse(seed_path.read_text(encoding="utf-8"))
    assert as_pairs(series) == expected_essays()
    assert [e.number for e in series.essays] == [1, 2, 3, 4]
    assert series.title == "Test Series"


def test_seed_slugs_are_ascii_and_distinct(seed_path) -> None:
    series = parse(seed_path.read_text(encoding="utf-8"))
    assert [e.slug for e in series.essays] == [
        "the-friction-between-ai-and-hollywood-why-amazon-dropped-its-openai-movie",
        "the-hidden-human-cost-data-center-workers-fight-back",
        "internal-vulnerabilities-analyzing-the-meta-data-leak",
        "navigating-the-future-of-tech-labor-and-ai",
    ]


def test_typographic_unicode_is_preserved(seed_path) -> None:
    text = "\n".join(b.text for e in parse(seed_path.read_text()).essays for b in e.blocks)
    assert "Amazon’s MGM" in text
    assert "“cloud”" in text
    assert "events—from" in text


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(
            lambda ls: "\ufeff" + "\r\n\r\n\r\n".join(ls) + "\r\n\r\n", id="crlf-bom-blanks"
        ),
        pytest.param(lambda ls: "\n\n".join(ls), id="one-blank-between-every-block"),
        pytest.param(lambda ls: "\n".join(ls), id="no-blank-lines"),
        pytest.param(lambda ls: "\r".join(ls), id="old-mac-cr"),
        pytest.param(lambda ls: "\n \t\n".join(f"  {x} \t\u00a0" for x in ls), id="stray-spaces"),
    ],
)
def test_seed_in_other_layouts_parses_the_same(layout) -> None:
    assert as_pairs(parse(layout(seed_lines()))) == expected_essays()


def test_seed_hard_wrapped_with_blank_lines_between_paragraphs() -> None:
    """Plain-text editors wrap at ~72 columns; blank lines then separate the blocks."""
    chunks = []
    for title, blocks in expected_essays():
        # A title directly above its first wrapped paragraph, with no blank line between.
        first, *rest = (textwrap.fill(text, width=72) for _, text in blocks)
        chunks.append(f"{title}\n{first}")
        chunks.extend(rest)
    assert as_pairs(parse("\n\n".join(chunks))) == expected_essays()


def test_hard_wrapped_titles_glued_to_both_neighbours() -> None:
    """No blank line before or after a title: it still stands apart from the wrapped text."""
    text = ""
    for title, blocks in expected_essays():
        wrapped = "\n\n".join(textwrap.fill(t, width=60) for _, t in blocks)
        text += f"\n{title}\n{wrapped}"
    assert as_pairs(parse(text)) == expected_essays()


def test_explicit_markers_make_pull_quotes_and_are_stripped() -> None:
    text = "\n".join(
        [
            "An Essay With Marked Quotes",
            PARA_A,
            "> A marked quote, however long it is, " + LONG,
            PARA_B,
            '"A straight-quoted line."',
            PARA_A,
            "“A curly-quoted line — with a dash.”",
            PARA_B,
            "«Des guillemets aussi.»",
            PARA_A,
        ]
    )
    blocks = [(b.type, b.text) for b in parse(text).essays[0].blocks]
    assert blocks == [
        ("paragraph", PARA_A.strip()),
        ("pull_quote", ("A marked quote, however long it is, " + LONG).strip()),
        ("paragraph", PARA_B.strip()),
        ("pull_quote", "A straight-quoted line."),
        ("paragraph", PARA_A.strip()),
        ("pull_quote", "A curly-quoted line — with a dash."),
        ("paragraph", PARA_B.strip()),
        ("pull_quote", "Des guillemets aussi."),
        ("paragraph", PARA_A.strip()),
    ]


def test_consecutive_marked_lines_are_one_pull_quote() -> None:
    text = f"Title\n\n{PARA_A}\n\n> First half of a quote\n> and its second half.\n\n{PARA_B}"
    quotes = parse(text).essays[0].pull_quotes
    assert [q.text for q in quotes] == ["First half of a quote and its second half."]


def test_dialogue_between_quotation_marks_stays_a_paragraph() -> None:
    """Starts and ends with quotes but is not one quotation, so it is not a marked quote."""
    dialogue = "“We keep the lights on,” she said, “and nobody sees us.”"
    text = f"Title\nShe told us about the night shift.\n{dialogue}\nThen she went back in."
    blocks = parse(text).essays[0].blocks
    assert [b.type for b in blocks] == ["paragraph"] * 3
    assert blocks[1].text == dialogue


def test_short_lines_between_short_paragraphs_are_paragraphs() -> None:
    text = "A Quiet Essay\nOne short paragraph.\nAnother short one.\nAnd a third short one."
    assert [b.type for b in parse(text).essays[0].blocks] == ["paragraph"] * 3


def test_long_middle_block_is_not_a_pull_quote() -> None:
    text = f"Title\n{PARA_A}\n{LONG}\n{PARA_B}"
    assert [b.type for b in parse(text).essays[0].blocks] == ["paragraph"] * 3


def test_hash_marker_makes_a_title_even_with_a_question_mark() -> None:
    text = f"# Who Owns the Cloud?\n{PARA_A}\n# Second\n{PARA_B}"
    assert [e.title for e in parse(text).essays] == ["Who Owns the Cloud?", "Second"]


def test_title_text_is_used_for_the_series_title_when_given() -> None:
    series = parse_manuscript(f"T\n{PARA_A}", slug="x-y", title="My Series")
    assert series.title == "My Series"
    assert series.slug == "x-y"


def test_duplicate_titles_get_distinct_slugs() -> None:
    series = parse(f"Same\n{PARA_A}\nSame\n{PARA_B}")
    assert [e.slug for e in series.essays] == ["same", "same-2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" \n\r\n\t\n", "empty"),
        ("Just a sentence.\nAnother sentence.", "no title found"),
        (f"An opening sentence.\nTitle\n{PARA_A}", "line 1: text before the first title"),
        (f"Title\nSubtitle\n{PARA_A}", "essay 'Title' has no paragraphs"),
        (f"Title\n{PARA_A}\nTrailing Title", "essay 'Trailing Title' has no paragraphs"),
    ],
)
def test_bad_manuscripts_raise_one_line_content_errors(text: str, message: str) -> None:
    with pytest.raises(ContentError, match=message) as info:
        parse(text)
    assert "\n" not in str(info.value)


def test_invalid_series_slug_is_rejected() -> None:
    with pytest.raises(ContentError, match="invalid series slug"):
        parse_manuscript(f"T\n{PARA_A}", slug="Not A Slug")


def _wrapped(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def test_a_short_line_glued_to_a_paragraph_warns_that_it_could_be_a_title() -> None:
    body = _wrapped("The first paragraph says enough to be read as prose by anyone. " * 3, 72)
    text = f"Opening\n\n{body}\nWhat the night shift knows\n{body}\n"
    codes = [w.code for w in analyse_manuscript(text, slug="s").warnings]
    assert codes == ["title-like"]


def test_two_wrap_widths_in_one_manuscript_do_not_make_wrapped_lines_title_like() -> None:
    """Pasted from two sources: the narrower lines are wrapped prose, not titles."""
    narrow = _wrapped(
        "Most of the city sleeps between three and five, and the people who "
        "keep it running are the ones nobody thanks. They drive the buses.",
        70,
    )
    wide = _wrapped("Her hands kept folding the dough while she spoke, a rhythm older than "
                    "the conversation and steadier than either of us, and she never looked up.",
                    78)  # fmt: skip
    text = f"One\n\n{narrow}\n\nTwo\n\n{wide}\n"
    assert analyse_manuscript(text, slug="s").warnings == ()


def test_a_paragraph_broken_by_a_stray_blank_line_warns() -> None:
    text = (
        "Opening\n\nHe stood at the door for a long while, as the lights came on one by one,"
        " with his hands deep in his pockets\n\nand then he went home, tired and cold.\n\n"
        "- a list item after a sentence end is no break\n\n"
        "Another paragraph ends here; it stops with a colon:\n\n- and a list item may follow.\n"
    )
    analysis = analyse_manuscript(text, slug="s")
    assert [(w.line, w.code) for w in analysis.warnings] == [(5, "broken-paragraph")]
    assert len(analysis.series.essays[0].blocks) == 5  # kept apart: the editor decides
