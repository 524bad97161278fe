"""Snapshots of essay 1 of the seed: a template change shows up as a readable diff.

The HTML is stored as a real .html file (open it in a browser); personalised with fixed
values so the output is deterministic.
"""

from __future__ import annotations

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from newsletter.render import render_issue


class HTMLSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "html"


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def essay_one(seed_series, values):
    return render_issue(seed_series, 1).personalise(values)


def test_essay_one_html(essay_one, snapshot):
    html, _ = essay_one
    # One tag per line keeps diffs readable; the snapshot file still opens as HTML.
    assert html.replace("><", ">\n<") == snapshot(extension_class=HTMLSnapshot)


def test_essay_one_text(essay_one, snapshot):
    _, text = essay_one
    assert text == snapshot(extension_class=TextSnapshot)
