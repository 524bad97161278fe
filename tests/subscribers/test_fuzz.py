"""A short run of the CSV import fuzzer (bench/fuzz.py runs 10,000): whatever file an
operator imports, validation keeps good rows and gives bad ones a one-line reason, and the
rows it keeps go into the database (PostgreSQL too) without an error."""

from __future__ import annotations

import pytest

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
