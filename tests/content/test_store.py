"""The Markdown series folder: exact round trip, front matter, atomic and refusing writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from newsletter.content import ContentError, load_series, parse_manuscript, write_series
from newsletter.content import store as store_module
from newsletter.content.markdown import parse_essay, render_essay
from newsletter.content.model import Block, Essay, Series

PARA = "A paragraph long enough to be body text, with “curly quotes” and an em dash—here. " * 3


@pytest.fixture
def seed_series(seed_path: Path) -> Series:
    series = parse_manuscript(seed_path.read_text(encoding="utf-8"), slug="tech-labor-and-ai")
    return dataclasses.replace(series, description="About work.", author="Tech Labor Letters")


def essay(**changes) -> Essay:
    base = Essay(1, "A Title", "a-title", (Block("paragraph", PARA.strip()),))
    return dataclasses.replace(base, **changes)


def test_write_then_load_equals_the_parsed_manuscript(seed_series: Series, tmp_path: Path) -> None:
    folder = write_series(seed_series, tmp_path)
    assert folder == tmp_path / "tech-labor-and-ai"
    loaded = load_series(folder)
    assert loaded == seed_series
    assert (loaded.description, loaded.author) == ("About work.", "Tech Labor Letters")


def test_folder_layout_is_series_toml_plus_numbered_markdown(
    seed_series: Series, tmp_path: Path
) -> None:
    folder = write_series(seed_series, tmp_path)
    names = sorted(p.name for p in folder.iterdir())
    assert names[-1] == "series.toml"
    assert names[:4] == [f"{e.number:02d}-{e.slug}.md" for e in seed_series.essays]
    first = (folder / names[0]).read_text(encoding="utf-8")
    assert first.startswith(f"# {seed_series.essays[0].title}\n\n")
    assert f"\n\n> {seed_series.essays[0].pull_quotes[0].text}\n\n" in first
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp left over


def test_front_matter_subject_and_preheader_round_trip(tmp_path: Path) -> None:
    tricky = essay(subject='Why "AI": a primer — part 1', preheader="Workers’ view: 'no'")
    series = Series("fm", "FM", (tricky, dataclasses.replace(essay(), number=2, slug="b")))
    folder = write_series(series, tmp_path)
    text = (folder / "01-a-title.md").read_text(encoding="utf-8")
    assert text.startswith("---\nsubject = ")
    assert load_series(folder) == series
    assert "---" not in (folder / "02-b.md").read_text(encoding="utf-8")  # only when set


def test_paragraphs_that_look_like_markup_are_escaped_and_round_trip() -> None:
    blocks = (
        Block("paragraph", "> not a quote"),
        Block("paragraph", "# not a title"),
        Block("paragraph", "\\ a backslash"),
        Block("pull_quote", "> a quote starting with a marker"),
        Block("paragraph", "#hashtag and text"),
    )
    original = essay(blocks=blocks)
    text = render_essay(original)
    assert parse_essay(text, number=1, slug="a-title", source="t") == original


def test_hand_edited_markdown_with_wrapped_lines_and_crlf(tmp_path: Path) -> None:
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "series.toml").write_text('title = "Hand Made"\n', encoding="utf-8")
    (folder / "01-first.md").write_bytes(
        "\ufeff# First\r\n\r\nA paragraph wrapped\r\nover two lines.\r\n"
        "> A quote\r\n> on two lines.\r\nLast paragraph.\r\n".encode()
    )
    series = load_series(folder)
    assert series.slug == "hand"  # from the folder name when series.toml has none
    assert [(b.type, b.text) for b in series.essays[0].blocks] == [
        ("paragraph", "A paragraph wrapped over two lines."),
        ("pull_quote", "A quote on two lines."),
        ("paragraph", "Last paragraph."),
    ]


def test_refuses_to_overwrite_without_force(seed_series: Series, tmp_path: Path) -> None:
    folder = write_series(seed_series, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ContentError, match="already exists; use --force"):
        write_series(dataclasses.replace(seed_series, title="Changed"), tmp_path)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_force_replaces_the_folder_completely(seed_series: Series, tmp_path: Path) -> None:
    folder = write_series(seed_series, tmp_path)
    (folder / "99-stale.md").write_text("# Stale\n\nOld.\n")
    smaller = dataclasses.replace(seed_series, title="Changed", essays=seed_series.essays[:2])
    write_series(smaller, tmp_path, force=True)
    assert load_series(folder) == smaller
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tech-labor-and-ai"]


def test_failure_mid_write_leaves_nothing(
    seed_series: Series, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def flaky(e: Essay) -> str:
        calls.append(e.number)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return render_essay(e)

    monkeypatch.setattr(store_module, "render_essay", flaky)
    out = tmp_path / "content"
    with pytest.raises(ContentError, match="No space left on device"):
        write_series(seed_series, out)
    assert not out.exists()


def test_failure_with_force_keeps_the_old_folder(
    seed_series: Series, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_series(seed_series, tmp_path)

    def broken(e: Essay) -> str:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(store_module, "render_essay", broken)
    with pytest.raises(ContentError):
        write_series(dataclasses.replace(seed_series, title="New"), tmp_path, force=True)
    assert load_series(folder) == seed_series
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tech-labor-and-ai"]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (Series("Bad Slug", "T", (essay(),)), "invalid series slug"),
        (Series("ok", "T", ()), "has no essays"),
        (Series("ok", "T", (essay(number=2),)), "must run 1..N"),
        (Series("ok", "T", (essay(title="Two\nlines"),)), "one line"),
        (Series("ok", "T", (essay(blocks=(Block("pull_quote", "Q."),)),)), "no paragraphs"),
    ],
)
def test_unwritable_series_are_rejected_before_writing(
    series: Series, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ContentError, match=message):
        write_series(series, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _series_folder(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "series.toml").write_text('slug = "s"\ntitle = "S"\n')
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


GOOD = "# T\n\nBody.\n"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no essays"),
        ({"01-a.md": GOOD, "03-c.md": GOOD}, "essay 02 is missing"),
        ({"intro.md": GOOD}, "must be named NN-slug.md"),
        ({"01-a.md": GOOD, "1-b.md": GOOD}, "used twice"),
        ({"01-a.md": "Body first.\n\n# T\n"}, "text before the '# Title' line"),
        ({"01-a.md": "# T\n\n# U\n\nBody.\n"}, "a second '# ' title"),
        ({"01-a.md": "---\nsubject: yaml style\n---\n" + GOOD}, "front matter is not valid TOML"),
        ({"01-a.md": '---\nsubjet = "typo"\n---\n' + GOOD}, "unknown front matter key 'subjet'"),
        ({"01-a.md": '---\nsubject = "x"\n' + GOOD}, "never closed"),
        ({"01-a.md": "\n\n"}, "no '# Title' line"),
    ],
)
def test_bad_series_folders_raise_one_line_errors(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    with pytest.raises(ContentError, match=message) as info:
        load_series(_series_folder(tmp_path, files))
    assert "\n" not in str(info.value)


def test_invalid_series_toml(tmp_path: Path) -> None:
    folder = _series_folder(tmp_path, {"01-a.md": GOOD})
    (folder / "series.toml").write_text("title = \n")
    with pytest.raises(ContentError, match="invalid TOML"):
        load_series(folder)
