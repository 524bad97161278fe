"""Slugs (URL- and file-name-safe identifiers) and the reverse, a title from a slug.

Slugs name series folders, essay files and URLs, so they must be plain ASCII on every file
system. Unicode titles are folded with NFKD (``Café`` → ``cafe``) rather than dropped, which
needs no extra dependency and keeps slugs recognisable.
"""

from __future__ import annotations

import re
import unicodedata

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG_LENGTH = 80

# Words kept lower-case inside a title and short words that read better upper-case.
SMALL_WORDS = frozenset(
    ["a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor"]
    + ["of", "on", "or", "the", "to", "vs", "via", "with"]
)
_ACRONYMS = frozenset(["ai", "api", "eu", "llm", "ml", "uk", "ux", "ceo", "cto", "gpu", "hr"])


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """Lower-case ASCII words joined by hyphens; cut at a word boundary to `max_length`.

    Returns "" when nothing ASCII survives (e.g. a title in Chinese); callers choose a
    fallback because only they know what else identifies the thing.
    """
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", ascii_text.replace("'", ""))
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    if not slug and words:  # a single word longer than the limit
        slug = words[0][:max_length]
    return slug


def is_slug(text: str) -> bool:
    return bool(SLUG_RE.match(text))


def unique_slug(base: str, taken: set[str]) -> str:
    """`base`, or `base-2`, `base-3`… so two essays with the same title get distinct files."""
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


def title_from_slug(slug: str) -> str:
    """A readable default title: ``tech-labor-and-ai`` → ``Tech Labor and AI``."""
    words = [w for w in slug.split("-") if w]
    out: list[str] = []
    for i, word in enumerate(words):
        if word in _ACRONYMS:
            out.append(word.upper())
        elif i > 0 and word in SMALL_WORDS:
            out.append(word)
        else:
            out.append(word.capitalize())
    return " ".join(out)
