"""Compile once, personalise many: fill subscriber values into an already compiled issue.

The compiled HTML and text contain slot markers (see `markers.py`: the render chooses them
so that essay text cannot contain one). They are split once into literal segments and slot
names, so personalising one message is a single
`str.join` over a few pieces, with values HTML-escaped for the HTML part and raw for text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newsletter.render.markers import SLOT_RE

# Values a subscriber may lack; everything else a template uses is required.
OPTIONAL_VALUES = frozenset({"name", "email"})


def greeting(name: str) -> str:
    """'Hi Ana,' or, with no usable name, 'Hi there,' (never 'Hi ,')."""
    name = " ".join(name.split())
    return f"Hi {name}," if name else "Hi there,"


def slot_values(values: Mapping[str, str]) -> dict[str, str]:
    """The subscriber's values plus what is derived from them (the greeting)."""
    # None (a subscriber without a name in the DB) means empty, never the string "None".
    filled = {key: "" if value is None else str(value) for key, value in values.items()}
    for key in OPTIONAL_VALUES:
        filled.setdefault(key, "")
    filled["greeting"] = greeting(filled["name"])
    return filled


def _identity(value: str) -> str:
    return value


def _html_escape(value: str) -> str:
    return html.escape(value, quote=True)


@dataclass(frozen=True)
class SlottedText:
    """A compiled document split at its slot markers.

    `segments` has one more item than `slots`: segment, slot, segment, slot, ..., segment.
    """

    segments: tuple[str, ...]
    slots: tuple[str, ...]

    @classmethod
    def split(cls, document: str, pattern: re.Pattern[str] = SLOT_RE) -> SlottedText:
        """Split at the markers `pattern` matches (those of the render that printed them)."""
        parts = pattern.split(document)
        return cls(segments=tuple(parts[0::2]), slots=tuple(parts[1::2]))

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.slots) - OPTIONAL_VALUES - {"greeting"}

    def fill(self, values: Mapping[str, str], escape: Callable[[str], str] = _identity) -> str:
        """Join segments with `values` (already derived by `slot_values`), escaped."""
        missing = self.required - values.keys()
        if missing:
            raise KeyError(f"personalise() needs values for: {', '.join(sorted(missing))}")
        out = [self.segments[0]]
        for name, segment in zip(self.slots, self.segments[1:], strict=True):
            out.append(escape(values[name]))
            out.append(segment)
        return "".join(out)

    def fill_html(self, values: Mapping[str, str]) -> str:
        return self.fill(values, _html_escape)
