"""Slot markers that essay text cannot forge, whatever it says.

Per-subscriber values are not known when an issue is compiled, so templates call
`slot("name")` and print a marker, `zzNLslot<tag>_<name>_tolsLNzz`, which the compiled
HTML and text are split at (see `personalise.py`). Markers are made only of letters,
digits and underscores: characters that neither Jinja, HTML escaping nor MJML rewrite, so
a marker survives compilation byte for byte.

An essay is free text, though, and may contain a marker too (an essay about this very
software, or a hostile one). Split naively, such text would become a slot: a `KeyError`
for an unknown name, or worse, the reader's address or unsubscribe link pasted into the
essay. So each render chooses its marker *tag* against what it actually rendered:

1. render with the smallest tag not yet ruled out (usually the empty one, giving
   `zzNLslot_name_tolsLNzz`);
2. count the tag's prefix in the rendered documents: it must occur exactly as often as
   `slot()` was called. Any extra occurrence came from content (or from content glued to
   a marker), so every tag the documents contain is ruled out and the render repeats.
   The second attempt always passes: its documents differ from the first only inside
   the markers, and a prefix not printed by `slot()` can only lie outside them or start
   at a marker's closing "zz", where the same text followed in the first attempt, so its
   tag was already ruled out.

This is a check, not a probability: after it, every prefix in the documents was printed
by `slot()`. Chosen over the alternatives because
- a random nonce per render is only *unlikely* to collide, and makes the compiled output
  differ between worker processes and runs (snapshots, the MJML the CLI writes);
- escaping marker-like text in content before splitting would change what readers see in
  the text part, and the escape itself would need an escape;
- splitting stays exactly as it was, so personalising a message costs the same as before
  (one `str.join`); the check runs once per compiled issue (a `str.count` per document).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from markupsafe import Markup

SLOT_PREFIX = "zzNLslot"  # every marker starts with this, whatever its tag
SLOT_SUFFIX = "_tolsLNzz"
_NAME = re.compile(r"[a-z_]+")
_TAG_IN_TEXT = re.compile(re.escape(SLOT_PREFIX) + r"(\d*)_")
# The second attempt always succeeds (see the module docstring); the third is a margin.
MAX_ATTEMPTS = 3


def marker(prefix: str, name: str) -> Markup:
    """The marker for slot `name` (lowercase letters and underscores) under `prefix`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"slot names are lowercase letters and underscores: {name!r}")
    return Markup(f"{prefix}{name}{SLOT_SUFFIX}")


class SlotMarkers:
    """The markers of one render: `slot()` for the templates, `pattern` to split at.

    A tag is "" or decimal digits and ends at the "_", so no tag's prefix contains
    another's.
    """

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self.prefix = f"{SLOT_PREFIX}{tag}_"
        self.pattern = re.compile(re.escape(self.prefix) + r"([a-z_]+?)" + re.escape(SLOT_SUFFIX))
        self.printed = 0  # slot() calls so far: the markers the documents must hold
        self.names: set[str] = set()

    def slot(self, name: str) -> Markup:
        """A marker that `personalise()` later replaces with this subscriber's value."""
        printed = marker(self.prefix, name)
        self.printed += 1
        self.names.add(name)
        return printed

    def only_mine(self, *documents: str) -> bool:
        """Whether every occurrence of this tag's prefix in `documents` came from `slot()`."""
        return sum(document.count(self.prefix) for document in documents) == self.printed

    def check_compiled(self, document: str) -> None:
        """Refuse a compiled document whose markers the compiler cut or invented.

        MJML is not expected to touch them (they are plain words); if it ever did, the
        issue fails to render rather than sending a half-personalised message.
        """
        found = self.pattern.findall(document)
        if document.count(self.prefix) != len(found) or not set(found) <= self.names:
            raise ValueError("a slot marker did not survive MJML compilation intact")


def tags_in(*documents: str) -> set[str]:
    """Every marker tag that occurs in `documents`, printed by `slot()` or not."""
    return {tag for document in documents for tag in _TAG_IN_TEXT.findall(document)}


def smallest_free_tag(taken: Iterable[str]) -> str:
    """The empty tag if it is free, else the smallest decimal tag not in `taken`."""
    used = set(taken)
    if "" not in used:
        return ""
    n = 1
    while str(n) in used:
        n += 1
    return str(n)


Render = Callable[[SlotMarkers], tuple[str, ...]]


def render_with_markers(render: Render) -> tuple[SlotMarkers, tuple[str, ...]]:
    """Call `render(markers)` until its documents hold no marker that it did not print.

    `render` must render every document that will be split, from scratch each call.
    Returns the markers used and the documents rendered with them.
    """
    taken: set[str] = set()
    for _ in range(MAX_ATTEMPTS):
        markers = SlotMarkers(smallest_free_tag(taken))
        documents = render(markers)
        if markers.only_mine(*documents):
            return markers, documents
        taken |= tags_in(*documents) | {markers.tag}
    raise ValueError("no slot marker could be chosen that the content does not contain")


# The default markers: the `slot` global of the environment (templates rendered outside
# `render_with_markers`, such as previews of a template) and the pattern to split them.
DEFAULT_PREFIX = f"{SLOT_PREFIX}_"
SLOT_RE = SlotMarkers().pattern


def slot(name: str) -> Markup:
    """A default marker (no collision check; issues render through `render_with_markers`)."""
    return marker(DEFAULT_PREFIX, name)
