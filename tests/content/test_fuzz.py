"""A short run of the manuscript fuzzer (bench/fuzz.py runs 10,000): whatever text or bytes
an editor hands over, the parser answers with essays or one plain-line `ContentError`; and
the two slow paths big manuscripts found."""

from __future__ import annotations

import time

import pytest

from newsletter.content.manuscript import parse_manuscript
from newsletter.content.model import Series
from tests.support.fuzzing import manuscript_inputs, manuscript_target, run


@pytest.mark.slow
def test_manuscript_parser_survives_hostile_input():
    report = run(manuscript_target, manuscript_inputs, examples=300)
    assert report.inputs >= 250
    assert report.failures == []
    assert 0 < report.refused < report.inputs  # both outcomes were reached


# Found by feeding the parser large pathological manuscripts (well under the 5 MB file
# cap): both were quadratic. The limits are generous for a loaded machine; before the
# fixes these inputs took about a minute each, now about a second.


def _timed_parse(text: str) -> tuple[float, Series]:
    started = time.perf_counter()
    series = parse_manuscript(text, slug="big")
    return time.perf_counter() - started, series


def test_one_title_repeated_ten_thousand_times_parses_in_linear_time():
    seconds, series = _timed_parse("Same Title\nA paragraph.\n" * 10_000)
    assert [e.slug for e in series.essays[:3]] == ["same-title", "same-title-2", "same-title-3"]
    assert series.essays[-1].slug == "same-title-10000"
    assert seconds < 10


def test_a_hard_wrapped_paragraph_of_100k_lines_parses_in_linear_time():
    seconds, series = _timed_parse("Title\n\n" + "a short line without an end\n" * 100_000)
    (block,) = series.essays[0].blocks
    assert len(block.text) == 100_000 * 28 - 1
    assert seconds < 15
