"""Control characters are refused where content enters, naming the essay and block.

A NUL or vertical tab used to import and schedule fine, then fail every send of its issue.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.content import Block, ContentError, Essay, Series, load_series, parse_manuscript
from newsletter.content.characters import describe
from newsletter.content.store import write_series
from newsletter.core.db.models import Essay as EssayRow
from newsletter.core.db.models import Series as SeriesRow
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.scheduling.series import create_series

PARAGRAPH = "A paragraph that is long enough to be read as a paragraph, ending properly."


def manuscript(bad: str = "") -> str:
    """Two essays; the third paragraph of essay 2 carries `bad`."""
    return "\n".join(
        [
            "First Essay",
            PARAGRAPH,
            PARAGRAPH,
            "",
            "Second Essay",
            PARAGRAPH,
            PARAGRAPH,
            f"Third paragraph {bad}of the second essay, ending properly.",
            "",
        ]
    )


@pytest.mark.parametrize(
    ("char", "code"),
    [
        ("\x00", "U+0000"),
        ("\x01", "U+0001"),
        ("\x0b", "U+000B"),
        ("\x0c", "U+000C"),
        ("\x1b", "U+001B"),
        ("\x7f", "U+007F"),
        ("\x85", "U+0085"),
        ("\x9f", "U+009F"),
    ],
)
def test_manuscript_names_essay_paragraph_and_code_point(char: str, code: str) -> None:
    with pytest.raises(ContentError) as caught:
        parse_manuscript(manuscript(char), slug="s", source="ms.txt")
    expected = f"ms.txt: essay 2, paragraph 3: contains a control character ({code})"
    assert str(caught.value) == expected


def test_line_structure_is_allowed() -> None:
    for fine in ("\t", "tab\tinside ", "\u00a0", "é ", "\u202e", "\u2028"):
        assert describe(f"a{fine}b") is None
    for fine in ("\n", "\r", "\r\n"):
        assert describe(f"a{fine}b") is None
    series = parse_manuscript(manuscript("tab\there ").replace("\n", "\r\n"), slug="s")
    assert "tab\there" in series.essays[1].blocks[2].text


def test_whitespace_controls_the_parser_strips_are_not_content() -> None:
    """A form feed alone on a line (a page break) never reaches an essay."""
    text = manuscript().replace("Second Essay", "\x0c\nSecond Essay")
    assert len(parse_manuscript(text, slug="s").essays) == 2


def test_titles_quotes_and_surrogates_are_named() -> None:
    title = manuscript().replace("Second Essay", "Second\x00 Essay")
    with pytest.raises(ContentError, match=r"^m: essay 2, title: contains a control character"):
        parse_manuscript(title, slug="s", source="m")
    quote = manuscript() + "> A pull\x07 quote.\n\nClosing paragraph, long enough to matter.\n"
    with pytest.raises(ContentError, match=r"essay 2, pull quote 1: .* \(U\+0007\)$"):
        parse_manuscript(quote, slug="s", source="m")
    with pytest.raises(ContentError, match=r"contains an invalid character \(U\+D800\)"):
        parse_manuscript(manuscript("\ud800"), slug="s", source="m")


def test_series_folder_names_the_file(tmp_path: Path) -> None:
    folder = write_series(parse_manuscript(manuscript(), slug="s"), tmp_path)
    essay = next(folder.glob("02-*.md"))
    essay.write_text(essay.read_text().replace("Third paragraph", "Third\x1b paragraph"))
    with pytest.raises(ContentError) as caught:
        load_series(folder)
    assert str(caught.value) == (
        f"{essay}: essay 2, paragraph 3: contains a control character (U+001B)"
    )
    essay.write_text(essay.read_text().replace("\x1b", ""))
    toml = folder / "series.toml"
    toml.write_text(toml.read_text().replace('title = "', 'title = "\\u0000'))  # a TOML escape
    with pytest.raises(ContentError, match=r"series\.toml: series title: .*\(U\+0000\)$"):
        load_series(folder)


def test_writing_refuses_what_loading_would(tmp_path: Path) -> None:
    series = parse_manuscript(manuscript(), slug="s")
    bad = Series("s", "Title\x00", series.essays)
    with pytest.raises(ContentError, match="series 's': series title: contains"):
        write_series(bad, tmp_path)
    assert not (tmp_path / "s").exists()


runner = CliRunner()


def test_check_and_import_exit_2_and_keep_what_was_there(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(manuscript())
    bad.write_bytes(manuscript("\x00").encode())
    out = tmp_path / "content"
    args = ["content", "import", "--series", "s", "--out", str(out)]
    assert runner.invoke(app, [*args[:2], str(good), *args[2:]]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (out / "s").iterdir()}

    checked = runner.invoke(app, ["content", "check", str(bad)])
    assert isinstance(checked.exception, UserError)
    proc = subprocess.run(
        [sys.executable, "-m", "newsletter", *args[:2], str(bad), *args[2:], "--force"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"error: {bad}: essay 2, paragraph 3: contains a control character (U+0000)"
    ]
    assert {p.name: p.read_bytes() for p in (out / "s").iterdir()} == before


def _series(text: str) -> Series:
    essay = Essay(1, "Part", "part", (Block("paragraph", "Fine."), Block("paragraph", text)))
    return Series("s", "S", (essay,))


def test_the_snapshot_refuses_what_code_built(db) -> None:
    start = dt.datetime(2030, 1, 1, 9)
    with transaction() as session, pytest.raises(UserError) as caught:
        create_series(session, "s", _series("bad\x00"), "daily", start, "UTC", "broadcast")
    assert str(caught.value) == (
        "series 's': essay 1, paragraph 2: contains a control character (U+0000)"
    )
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(SeriesRow)) == 0
        assert session.scalar(select(func.count()).select_from(EssayRow)) == 0
        create_series(session, "s", _series("tab\tok"), "daily", start, "UTC", "broadcast")
