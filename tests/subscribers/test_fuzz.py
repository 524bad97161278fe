"""A short run of the CSV import fuzzer (bench/fuzz.py runs 10,000): whatever file an
operator imports, validation keeps good rows and gives bad ones a one-line reason, and the
rows it keeps go into the database (PostgreSQL too) without an error."""

from __future__ import annotations

import pytest

from newsletter.core.db.session import transaction
from newsletter.subscribers.importer import import_rows, parse_rows
from tests.support.fuzzing import csv_inputs, import_target, importer_target, run


@pytest.mark.slow
def test_csv_validation_survives_hostile_input():
    report = run(importer_target, csv_inputs, examples=300)
    assert report.inputs >= 250
    assert report.failures == []
    assert 0 < report.refused < report.inputs


@pytest.mark.slow
def test_import_into_the_database_survives_hostile_input(series_id):
    report = run(import_target("labor"), csv_inputs, examples=100)
    assert report.inputs >= 80
    assert report.failures == []


def test_a_lone_surrogate_is_a_bad_row_not_a_failed_insert(series_id):
    """Found by the 10,000-input import fuzz: a name with a lone surrogate passed validation
    and then failed the INSERT with UnicodeEncodeError."""
    text = "email,name\na@example.com,Ann\udfff\nb\ud800@example.com,Bo\nc@example.com,Cy\n"
    good, bad = parse_rows(text, "people.csv")
    assert [r.email for r in good] == ["c@example.com"]
    assert [(b.line, b.reason) for b in bad] == [
        (2, "not valid UTF-8 text (a lone surrogate)"),
        (3, "not valid UTF-8 text (a lone surrogate)"),
    ]
    with transaction() as session:
        report = import_rows(session, good, bad, "labor", confirmed=True)
    assert report.imported == 1
