"""Serial mode end to end (issue 11): a real worker process, the SMTP sink, the tick at a
simulated time.

Each reader's parts go out at the series' local time in their zone, across DST; the
reader's controls act once however often they are pressed; late joiners, evergreen
series, added parts and a serial reschedule deliver what they promise and nothing else.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsletter.core.db.models import FirstPart, LateJoiners
from newsletter.core.db.session import transaction
from newsletter.core.tokens import make_token
from newsletter.subscribers.queries import SeriesEnded
from newsletter.subscribers.service import signup
from newsletter.web.application import create_app
from tests.support.cli import ok
from tests.support.factories import make_series
from tests.support.mail import body
from tests.support.serial import (
    DAY,
    HOUR,
    address,
    drive,
    issues_to,
    join,
    part_of,
    released,
    subscription,
)

pytestmark = pytest.mark.integration

NY = "America/New_York"
UTC = dt.datetime
START = UTC(2026, 11, 30, 9, 0)


def series(
    slug: str,
    parts: int,
    *,
    mode: str = "serial",
    start: dt.datetime = START,
    first_part: str = FirstPart.NOW,
    late_joiners: str = LateJoiners.NEXT,
) -> int:
    """A daily series at 09:00 New York time (14:00 UTC in winter)."""
    with transaction() as session:
        row = make_series(session, slug, parts, mode=mode, start=start, timezone=NY)
        row.first_part, row.late_joiners = first_part, late_joiners
        return row.id


def app_client() -> TestClient:
    return TestClient(create_app(), base_url="http://testserver")


def test_parts_arrive_at_nine_local_across_dst_and_in_the_readers_own_zone(
    db, clock, start_worker, sink
) -> None:
    series("nyc", 4, first_part=FirstPart.NEXT_SLOT)
    confirmed = UTC(2027, 3, 12, 3, 28)  # 22:28 the evening before in New York
    ny, series_id = join(clock, confirmed, "ny@example.org", "nyc")
    tokyo, _ = join(clock, confirmed, "tokyo@example.org", "nyc", tz="Asia/Tokyo")
    assert subscription(ny, series_id).next_due_at == UTC(2027, 3, 12, 14, 0)
    start_worker()
    drive(clock, UTC(2027, 3, 12, 3, 0), UTC(2027, 3, 16, 6, 0))

    # 09:00 EST is 14:00 UTC; from 14 March (DST) 09:00 EDT is 13:00 UTC.
    assert released(ny) == [
        (1, 1, UTC(2027, 3, 12, 14, 0)),
        (2, 1, UTC(2027, 3, 13, 14, 0)),
        (3, 1, UTC(2027, 3, 14, 13, 0)),
        (4, 1, UTC(2027, 3, 15, 13, 0)),
    ]
    # 09:00 in Tokyo is midnight UTC; 12:28 there at confirmation, so part 1 the next day.
    assert [when for _, _, when in released(tokyo)] == [
        UTC(2027, 3, 13, 0, 0),
        UTC(2027, 3, 14, 0, 0),
        UTC(2027, 3, 15, 0, 0),
        UTC(2027, 3, 16, 0, 0),
    ]
    assert subscription(ny, series_id).status == "finished"

    for reader, second in ((ny, "Sat 13 Mar, 09:00"), (tokyo, "Sun 14 Mar, 09:00")):
        mails = issues_to(sink, address(reader))
        assert [part_of(m) for m in mails] == [1, 2, 3, 4]
        for mail in mails:
            for kind in ("plain", "html"):
                text = body(mail, kind)
                assert "http://localhost:8000/next/" in text, kind
                assert "http://localhost:8000/pause/" in text, kind
                assert f"Part {part_of(mail)} of 4 · " in text, kind
        first, last = body(mails[0], "plain"), body(mails[-1], "html")
        assert f"Part 1 of 4 · part 2 arrives {second}" in first
        assert "Part 4 of 4 · the last part" in last


def test_next_part_now_sends_exactly_one_part_however_often_it_is_pressed(
    db, clock, start_worker, sink
) -> None:
    series("binge", 4)
    reader, series_id = join(clock, UTC(2026, 11, 30, 15, 0), "binge@example.org", "binge")
    start_worker()
    drive(clock, UTC(2026, 11, 30, 15, 0), UTC(2026, 11, 30, 15, 0))  # part 1: a welcome
    token = make_token("next", reader, series_id)
    with app_client() as client:
        clock.now = UTC(2026, 11, 30, 16, 0)
        page = client.get(f"/next/{token}")
        assert page.status_code == 200 and "Send me part 2 now" in page.text
        for _ in range(2):  # a double press: the page offered part 2 both times
            pressed = client.post(f"/next/{token}", data={"part": "2"})
            assert pressed.status_code == 200 and "Part 2 is on its way" in pressed.text
    clock.now = UTC(2026, 11, 30, 17, 0)
    barrier, codes = threading.Barrier(2), []
    # Apps are built here: pydantic's schema building swaps the process-wide warning
    # filters, which is not thread-safe under `filterwarnings = error`.
    clients = [app_client() for _ in range(2)]

    def tab(client: TestClient) -> None:  # two tabs showing part 3 post at the same moment
        barrier.wait()
        codes.append(client.post(f"/next/{token}", data={"part": "3"}).status_code)

    for client in clients:
        client.__enter__()
    try:
        tabs = [threading.Thread(target=tab, args=(c,)) for c in clients]
        for t in tabs:
            t.start()
        for t in tabs:
            t.join(30)
    finally:
        for client in clients:
            client.__exit__(None, None, None)
    assert codes == [200, 200]
    # Both parts are pending at once; the next tick hands them out.
    drive(clock, UTC(2026, 11, 30, 17, 0), UTC(2026, 12, 1, 15, 0))
    assert released(reader) == [
        (1, 1, UTC(2026, 11, 30, 15, 0)),
        (2, 1, UTC(2026, 11, 30, 16, 0)),
        (3, 1, UTC(2026, 11, 30, 17, 0)),
        # Later parts follow the cadence from the last one pressed for: the next day, 09:00.
        (4, 1, UTC(2026, 12, 1, 14, 0)),
    ]
    assert [part_of(m) for m in issues_to(sink, "binge@example.org")] == [1, 2, 3, 4]


def test_pause_for_a_week_then_until_resumed(db, clock, start_worker, sink) -> None:
    series("rest", 4)
    reader, series_id = join(clock, UTC(2026, 11, 30, 15, 0), "rest@example.org", "rest")
    start_worker()
    drive(clock, UTC(2026, 11, 30, 15, 0), UTC(2026, 11, 30, 15, 0))
    token = make_token("pause", reader, series_id)
    with app_client() as client:
        clock.now = UTC(2026, 11, 30, 16, 0)
        assert "Pause for" in client.get(f"/pause/{token}").text
        assert "Paused." in client.post(f"/pause/{token}", data={"weeks": "1"}).text
    sub = subscription(reader, series_id)
    assert (sub.status, sub.paused_until) == ("paused", UTC(2026, 12, 7, 16, 0))
    assert sub.next_due_at == UTC(2026, 12, 8, 14, 0)  # the first slot after the pause
    drive(clock, UTC(2026, 11, 30, 16, 0), UTC(2026, 12, 8, 16, 0), step=2 * HOUR)
    assert [(p, w) for p, _, w in released(reader)] == [
        (1, UTC(2026, 11, 30, 15, 0)),
        (2, UTC(2026, 12, 8, 14, 0)),
    ]
    with app_client() as client:
        clock.now = UTC(2026, 12, 8, 16, 0)
        client.post(f"/pause/{token}", data={"weeks": "0"})  # until I resume
        drive(clock, UTC(2026, 12, 8, 16, 0), UTC(2026, 12, 12, 16, 0), step=2 * HOUR)
        assert len(released(reader)) == 2
        clock.now = UTC(2026, 12, 12, 16, 0)
        assert "Resumed." in client.post(f"/pause/{token}/resume").text
    drive(clock, UTC(2026, 12, 12, 16, 0), UTC(2026, 12, 13, 16, 0))
    # The overdue part at once on resuming, the next one at the following slot.
    assert [(p, w) for p, _, w in released(reader)][2:] == [
        (3, UTC(2026, 12, 12, 16, 0)),
        (4, UTC(2026, 12, 13, 14, 0)),
    ]
    assert [part_of(m) for m in issues_to(sink, "rest@example.org")] == [1, 2, 3, 4]


def test_start_again_is_a_new_round_and_the_ledger_keeps_the_first(
    db, clock, start_worker, sink
) -> None:
    series("again", 2)
    reader, series_id = join(clock, UTC(2026, 11, 30, 15, 0), "again@example.org", "again")
    start_worker()
    drive(clock, UTC(2026, 11, 30, 15, 0), UTC(2026, 12, 1, 15, 0))
    assert subscription(reader, series_id).status == "finished"
    token = make_token("restart", reader, series_id)
    with app_client() as client:
        clock.now = UTC(2026, 12, 2, 10, 0)
        assert "Start again from part 1" in client.get(f"/restart/{token}").text
        for _ in range(2):  # pressed twice: the page said round 1 both times
            client.post(f"/restart/{token}", data={"round": "1"})
    assert subscription(reader, series_id).round == 2
    drive(clock, UTC(2026, 12, 2, 10, 0), UTC(2026, 12, 3, 15, 0))
    assert released(reader) == [
        (1, 1, UTC(2026, 11, 30, 15, 0)),
        (2, 1, UTC(2026, 12, 1, 14, 0)),
        (1, 2, UTC(2026, 12, 2, 10, 0)),
        (2, 2, UTC(2026, 12, 3, 14, 0)),
    ]
    assert [part_of(m) for m in issues_to(sink, "again@example.org")] == [1, 2, 1, 2]


def test_catch_up_late_joiners_and_the_evergreen_finished_series(
    db, clock, start_worker, sink
) -> None:
    start = UTC(2026, 12, 1, 9, 0)
    series("club", 4, mode="broadcast", start=start, late_joiners=LateJoiners.CATCH_UP)
    early, series_id = join(clock, UTC(2026, 11, 30, 12, 0), "early@example.org", "club")
    start_worker()
    drive(clock, UTC(2026, 12, 1, 13, 0), UTC(2026, 12, 2, 15, 0))
    late, _ = join(clock, UTC(2026, 12, 2, 20, 0), "late@example.org", "club")
    drive(clock, UTC(2026, 12, 2, 20, 0), UTC(2026, 12, 6, 15, 0))
    assert [w for _, _, w in released(early)] == [UTC(2026, 12, d, 14, 0) for d in (1, 2, 3, 4)]
    # Part 1 at once, the back parts at the series' slot until level, then the broadcast.
    assert released(late) == [
        (1, 1, UTC(2026, 12, 2, 20, 0)),
        (2, 1, UTC(2026, 12, 3, 14, 0)),
        (3, 1, UTC(2026, 12, 4, 14, 0)),
        (4, 1, UTC(2026, 12, 5, 14, 0)),
    ]
    assert subscription(late, series_id).next_due_at is None

    # Every part has gone out: the series is finished, and evergreen.
    newcomer, _ = join(clock, UTC(2026, 12, 7, 20, 0), "new@example.org", "club")
    drive(clock, UTC(2026, 12, 7, 20, 0), UTC(2026, 12, 11, 15, 0))
    assert [w for _, _, w in released(newcomer)] == [
        UTC(2026, 12, 7, 20, 0),
        *(UTC(2026, 12, d, 14, 0) for d in (8, 9, 10)),
    ]
    for reader in ("early", "late", "new"):
        assert [part_of(m) for m in issues_to(sink, f"{reader}@example.org")] == [1, 2, 3, 4]


def test_next_late_joiners_get_the_next_part_and_the_archive(db, clock, start_worker, sink) -> None:
    series("news", 3, mode="broadcast", start=UTC(2026, 12, 1, 9, 0))
    start_worker()
    drive(clock, UTC(2026, 12, 1, 13, 0), UTC(2026, 12, 1, 15, 0))  # part 1 went out
    with transaction() as session:
        result = signup(session, "late@example.org", "", "news")
    with app_client() as client:
        token = make_token("confirm", result.subscriber_id, result.series_id)
        page = client.post(f"/confirm/{token}")  # the button on the GET page
        assert 'href="/archive/news"' in page.text
    drive(clock, UTC(2026, 12, 1, 15, 0), UTC(2026, 12, 3, 15, 0))
    assert [p for p, _, _ in released(result.subscriber_id)] == [2, 3]
    assert [part_of(m) for m in issues_to(sink, "late@example.org")] == [2, 3]
    # Finished with `next`: no promise of parts that will not come.
    with pytest.raises(SeriesEnded), transaction() as session:
        signup(session, "later@example.org", "", "news")
    with app_client() as client:
        landing = client.get("/s/news").text
        assert "This series has ended" in landing and 'href="/archive/news"' in landing


def test_an_added_part_reaches_readers_who_had_finished(
    db, clock, start_worker, sink, tmp_path: Path
) -> None:
    series("grow", 2)
    reader, series_id = join(clock, UTC(2026, 11, 30, 15, 0), "grow@example.org", "grow")
    start_worker()
    drive(clock, UTC(2026, 11, 30, 15, 0), UTC(2026, 12, 2, 15, 0))
    assert subscription(reader, series_id).status == "finished"
    essay = tmp_path / "03-more.md"
    essay.write_text("# More to say\n\nA third part, written later. It has two sentences.\n")
    clock.now = UTC(2026, 12, 3, 18, 0)
    assert "part 3 added" in ok("series", "add-part", "grow", str(essay))
    sub = subscription(reader, series_id)
    assert (sub.status, sub.next_due_at) == ("active", UTC(2026, 12, 4, 14, 0))
    drive(clock, UTC(2026, 12, 3, 18, 0), UTC(2026, 12, 4, 15, 0))
    assert [(p, w) for p, _, w in released(reader)][2:] == [(3, UTC(2026, 12, 4, 14, 0))]
    assert [part_of(m) for m in issues_to(sink, "grow@example.org")] == [1, 2, 3]
    assert subscription(reader, series_id).status == "finished"


def test_a_serial_reschedule_moves_every_readers_next_part(db, clock, start_worker, sink) -> None:
    series("move", 3, first_part=FirstPart.NEXT_SLOT)
    ny, series_id = join(clock, UTC(2026, 11, 30, 3, 28), "move@example.org", "move")
    tokyo, _ = join(clock, UTC(2026, 11, 30, 3, 28), "jp@example.org", "move", tz="Asia/Tokyo")
    start_worker()
    drive(clock, UTC(2026, 11, 30, 3, 0), UTC(2026, 11, 30, 15, 0))
    clock.now = UTC(2026, 11, 30, 16, 0)
    assert "moved the next part of 2 reader(s)" in ok(
        "series", "reschedule", "move", "--at", "07:30"
    )
    drive(clock, UTC(2026, 11, 30, 16, 0), UTC(2026, 12, 2, 23, 0), step=HOUR / 2)
    # 07:30 in New York is 12:30 UTC; in Tokyo 22:30 UTC the day before. Tokyo's part 1,
    # due at 09:00 there on 1 December, moves to 07:30 that day.
    assert [w for _, _, w in released(ny)] == [
        UTC(2026, 11, 30, 14, 0),
        UTC(2026, 12, 1, 12, 30),
        UTC(2026, 12, 2, 12, 30),
    ]
    tokyo_first = UTC(2026, 11, 30, 22, 30)
    assert [w for _, _, w in released(tokyo)] == [tokyo_first + n * DAY for n in range(3)]
