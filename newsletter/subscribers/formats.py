"""Subscriber lists written out as CSV or JSON (`subscribers export`).

Kept apart from `queries` because this is text formatting, not a database read: the rows
come from `queries.iter_rows`, whose keys (`queries.FIELDS`) are the CSV columns.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from newsletter.subscribers.queries import FIELDS


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def to_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
