"""The embedded broker writes each message atomically: a reader never sees half of one.

kombu's own filesystem transport fails the race below about one run in two (the reader
moves a file the writer has created but not yet written: JSONDecodeError), which is how
the demo's worker once stopped with "Unrecoverable error".
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from queue import Empty

from kombu import Connection

from newsletter.core import celery_app  # noqa: F401  (maps filesystem:// to fsbroker)
from newsletter.core.fsbroker import Transport

MESSAGES = 3000


def _connection(root: Path) -> Connection:
    options = {
        "data_folder_in": str(root / "q"),
        "data_folder_out": str(root / "q"),
        "processed_folder": str(root / "done"),
        "store_processed": False,
    }
    return Connection("filesystem://", transport_options=options)


def _read(root: Path, results: multiprocessing.Queue) -> None:
    """In another process, as a worker: take messages until all are in, or one is bad."""
    seen: list[int] = []
    with _connection(root) as conn:
        channel = conn.default_channel
        while len(seen) < MESSAGES:
            try:
                seen.append(channel._get("jobs")["n"])
            except Empty:
                continue
            except Exception as exc:  # a half-written message
                results.put(repr(exc))
                return
    results.put(sorted(seen))


def test_filesystem_urls_use_the_atomic_transport(tmp_path: Path) -> None:
    with _connection(tmp_path) as conn:
        assert isinstance(conn.transport, Transport)


def test_a_reader_racing_the_writer_only_sees_whole_messages(tmp_path: Path) -> None:
    (tmp_path / "q").mkdir()
    (tmp_path / "done").mkdir()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    reader = context.Process(target=_read, args=(tmp_path, results))
    reader.start()
    with _connection(tmp_path) as conn:
        channel = conn.default_channel
        for n in range(MESSAGES):
            channel._put("jobs", {"n": n, "body": "x" * 20_000})
    outcome = results.get(timeout=120)
    reader.join(timeout=10)
    assert outcome == list(range(MESSAGES))
    assert not list((tmp_path / "q").iterdir()), "a partial file was left behind"
