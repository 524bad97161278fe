"""CSV import: bad rows reported by line, good rows kept, all-or-nothing in the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.core.db.models import Event, Mail, Subscriber, Subscription
from newsletter.core.db.session import transaction
from newsletter.core.errors import UserError
from newsletter.subscribers import importer


def run_import(path: Path, confirmed: bool = True) -> importer.ImportReport:
    with transaction() as session:
        return importer.import_csv(session, path, "labor", confirmed=confirmed)


def count(model) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "people.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def test_bad_rows_are_reported_and_good_rows_kept(series_id, sent, tmp_path) -> None:
    with transaction() as session:
        from newsletter.subscribers.service import add_subscriber

        add_subscriber(session, "Known@example.com", "", "labor", confirmed=True)
    path = write(
        tmp_path,
        "email,name\r\n"
        "ana@example.com,Ana\r\n"  # 2
        "not-an-address,Bad\r\n"  # 3
        "\r\n"  # 4
        'eve@example.com,"Eve\r\nBcc: x@example.com"\r\n'  # 5-6
        "ANA@example.com,Ana again\r\n"  # 7
        "known@EXAMPLE.com,Known\r\n"  # 8
        "josé@example.com,José\r\n"  # 9
        "用户@例子.广告\r\n",  # 10: no name column
    )
    report = run_import(path)
    assert report.imported == 3
    assert [(b.line, b.reason.split(":")[0]) for b in report.bad] == [
        (3, "invalid email address"),
        (4, "empty line"),
        (5, "name must not contain line breaks"),
        (7, "duplicate of line 2"),
        (8, "already in the database"),
    ]
    with transaction() as session:
        rows = session.execute(
            select(Subscriber.email, Subscriber.name, Subscriber.status, Subscriber.source)
            .where(Subscriber.source == "import")
            .order_by(Subscriber.id)
        ).all()
    assert rows == [
        ("ana@example.com", "Ana", "active", "import"),
        ("josé@example.com", "José", "active", "import"),
        ("用户@例子.广告", "", "active", "import"),
    ]
    assert sent == []
    assert count(Event) == 4  # the add + three imports


def test_unconfirmed_import_is_pending_and_mails_after_commit(series_id, sent, tmp_path) -> None:
    report = run_import(write(tmp_path, "a@example.com,A\nb@example.com,B\n"), confirmed=False)
    assert report.imported == 2 and report.bad == []  # first row detected as data
    assert sorted(sent) == sorted((i, series_id) for i in report.pending_ids)
    assert report.mails_queued == 2
    with transaction() as session:
        assert set(session.scalars(select(Subscription.status))) == {"pending"}


def test_a_broker_outage_loses_no_mail(series_id, tmp_path, monkeypatch) -> None:
    calls = []

    def broker_down(mail_ids):
        calls.append(list(mail_ids))
        return False  # what `tasks.wake` answers when the publish failed

    monkeypatch.setattr(importer, "WAKE_BATCH", 1)
    monkeypatch.setattr(importer.tasks, "wake", broker_down)
    report = run_import(write(tmp_path, "email\na@example.com\nb@example.com\n"), False)
    assert (report.mails_queued, len(calls)) == (2, 1)  # no second try after a failure
    with transaction() as session:
        statuses = session.scalars(select(Mail.status)).all()
    assert statuses == ["pending", "pending"]  # both wait in the outbox for the tick


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"email,name\nzo\xe9@example.com,Zo\xe9\n", "not UTF-8"),
        (b"", "no rows"),
        (b"\n\n", "no rows"),
        (b"name,address\nAna,ana@example.com\n", "header with an `email` column"),
    ],
)
def test_unusable_files_are_one_line_errors(series_id, tmp_path, content, message) -> None:
    with pytest.raises(UserError, match=message) as err:
        run_import(write(tmp_path, content))
    assert "\n" not in str(err.value)
    assert count(Subscriber) == 0


def test_missing_file_and_series(series_id, tmp_path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        run_import(tmp_path / "nope.csv")
    with pytest.raises(UserError, match="no series"), transaction() as session:
        importer.import_csv(session, write(tmp_path, "email\na@example.com\n"), "nope")


def test_database_error_rolls_back_the_whole_import(series_id, sent, tmp_path, monkeypatch):
    rows, bad = importer.parse_rows("".join(f"u{i}@example.com,U\n" for i in range(2500)))
    monkeypatch.setattr(importer, "CHUNK", 1000)
    # Sneak a key collision into the last chunk, past validation: the INSERT fails.
    rows[-1] = importer.Row(rows[-1].line, rows[0].email, rows[0].key, "")
    with pytest.raises(Exception, match="(?i)unique"), transaction() as session:
        importer.import_rows(session, rows, bad, "labor", confirmed=False)
    assert (count(Subscriber), count(Subscription), count(Event)) == (0, 0, 0)
    assert sent == []


def test_ten_thousand_rows(series_id, sent, tmp_path) -> None:
    lines = ["email,name"] + [f"Person.{i}@Example.org,Person {i}" for i in range(10_000)]
    lines[5000] = "broken@,Nobody"
    path = write(tmp_path, "\n".join(lines) + "\n")
    report = run_import(path)
    assert report.imported == 9_999
    assert [(b.line, b.reason.split(":")[0]) for b in report.bad] == [
        (5001, "invalid email address")
    ]
    assert (count(Subscriber), count(Subscription), count(Event)) == (9_999, 9_999, 9_999)
    with transaction() as session:
        keys = set(session.scalars(select(Subscriber.email_key)))
        assert "person.9999@example.org" in keys and "person.4999@example.org" not in keys
        pairs = session.execute(
            select(Subscriber.email, Subscription.series_id).join(
                Subscription, Subscription.subscriber_id == Subscriber.id
            )
        ).all()
        assert {s for _, s in pairs} == {series_id} and len(pairs) == 9_999
