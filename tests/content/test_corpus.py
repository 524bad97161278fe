"""The parser against a corpus of hand-written manuscripts in varied layouts (issue 13).

Each ``corpus/NN-name.txt`` has a sidecar ``NN-name.expected.json``: per essay its title and
its blocks as [kind, first four words], plus the warnings as [line, code]. The sidecars were
written from the parse and checked by eye against the intent in each file's name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content import ContentError, analyse_manuscript, parse_manuscript, write_series
from newsletter.content.store import read_series_dir

CORPUS = Path(__file__).parent / "corpus"
MANUSCRIPTS = sorted(CORPUS.glob("*.txt"))


def test_the_corpus_is_big_enough() -> None:
    assert len(MANUSCRIPTS) >= 15


def _shape(path: Path) -> dict:
    analysis = analyse_manuscript(path.read_text(encoding="utf-8"), slug="corpus")
    return {
        "essays": [
            {
                "title": essay.title,
                "blocks": [[b.type, " ".join(b.text.split()[:4])] for b in essay.blocks],
            }
            for essay in analysis.series.essays
        ],
        "warnings": [[w.line, w.code] for w in analysis.warnings],
    }


@pytest.mark.parametrize("path", MANUSCRIPTS, ids=lambda p: p.stem)
def test_corpus_manuscript_parses_as_expected(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    assert _shape(path) == expected


@pytest.mark.parametrize("path", MANUSCRIPTS, ids=lambda p: p.stem)
def test_corpus_round_trips_through_the_series_folder(path: Path, tmp_path: Path) -> None:
    series = parse_manuscript(path.read_text(encoding="utf-8"), slug="corpus")
    folder = write_series(series, tmp_path)
    assert read_series_dir(folder).essays == series.essays


LINES = st.lists(
    st.one_of(
        st.sampled_from(["", "# A Title", "> quoted", "Title Line", "- item", "“Hi.”"]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(LINES, st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_parser_raises_nothing_but_content_errors(lines: list[str], newline: str) -> None:
    try:
        analysis = analyse_manuscript(newline.join(lines), slug="fuzz")
    except ContentError as error:
        assert "\n" not in str(error)
        return
    for warning in analysis.warnings:
        assert 1 <= warning.essay <= len(analysis.series.essays)
        assert warning.message.startswith(f"line {warning.line} ")
