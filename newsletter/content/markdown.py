"""One essay as a Markdown file: the canonical, hand-editable form of the content.

File layout (``NN-<slug>.md``)::

    ---
    subject = "Optional subject line (defaults to the title)"
    preheader = "Optional inbox preview text (defaults to the first sentence)"
    ---

    # Essay title

    A paragraph, on one line or hard-wrapped over several.

    > A pull quote.

    Another paragraph.

Front matter is optional and, between ``---`` fences, is **TOML** rather than YAML: the
project already reads and writes TOML (``series.toml``), it needs no new dependency, and
its quoting makes any subject round-trip exactly. Only ``subject`` and ``preheader`` are
allowed, so a typo is an error instead of being ignored.

Blocks are separated by blank lines; consecutive non-blank lines are joined with a space,
as Markdown does. A paragraph whose text starts with ``>``, ``#`` or ``\\`` is written with
a leading backslash so it reads back as a paragraph; the reader drops that one backslash.
Only this subset of Markdown is understood – the files are content, not layout.
"""

from __future__ import annotations

import tomllib

import tomli_w

from newsletter.content.characters import check_essay
from newsletter.content.errors import ContentError
from newsletter.content.model import Block, Essay

FENCE = "---"
FRONT_MATTER_KEYS = ("subject", "preheader")
_ESCAPED_STARTS = (">", "#", "\\")


def render_essay(essay: Essay) -> str:
    """The essay as Markdown text ending in a single newline."""
    parts: list[str] = []
    meta = {k: getattr(essay, k) for k in FRONT_MATTER_KEYS if getattr(essay, k) is not None}
    if meta:
        parts.append(f"{FENCE}\n{tomli_w.dumps(meta)}{FENCE}")
    parts.append(f"# {essay.title}")
    for block in essay.blocks:
        if block.type == "pull_quote":
            parts.append(f"> {block.text}")
        elif block.text.startswith(_ESCAPED_STARTS):
            parts.append(f"\\{block.text}")
        else:
            parts.append(block.text)
    return "\n\n".join(parts) + "\n"


def parse_essay(text: str, *, number: int, slug: str, source: str) -> Essay:
    """Read what `render_essay` writes (and reasonable hand edits of it)."""
    lines = text.split("\n")
    meta, body_start = _front_matter(lines, source)
    title: str | None = None
    blocks: list[Block] = []
    for first_line, kind, content in _paragraphs(lines, body_start):
        where = f"{source}: line {first_line}"
        if kind == "title":
            if title is not None:
                raise ContentError(f"{where}: a second '# ' title; one essay per file")
            title = content
        elif title is None:
            raise ContentError(f"{where}: text before the '# Title' line")
        else:
            blocks.append(Block(kind, content))
    if title is None:
        raise ContentError(f"{source}: no '# Title' line")
    if not any(b.type == "paragraph" for b in blocks):
        raise ContentError(f"{source}: essay {title!r} has no paragraphs")
    essay = Essay(number, title, slug, tuple(blocks), **meta)
    check_essay(essay, source)
    return essay


def _front_matter(lines: list[str], source: str) -> tuple[dict[str, str], int]:
    """The parsed front matter and the index of the first body line."""
    if not lines or lines[0].strip() != FENCE:
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() == FENCE:
            break
    else:
        raise ContentError(f"{source}: front matter opened with '---' is never closed")
    try:
        meta = tomllib.loads("\n".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise ContentError(
            f'{source}: front matter is not valid TOML ({exc}); write e.g. subject = "…"'
        ) from None
    unknown = sorted(set(meta) - set(FRONT_MATTER_KEYS))
    if unknown:
        raise ContentError(
            f"{source}: unknown front matter key {unknown[0]!r}; allowed: subject, preheader"
        )
    for key, value in meta.items():
        if not isinstance(value, str) or "\n" in value:
            raise ContentError(f"{source}: front matter {key!r} must be a one-line string")
    return meta, end + 1


def _paragraphs(lines: list[str], start: int) -> list[tuple[int, str, str]]:
    """(line number, kind, text) per blank-line-separated block; kind is title/pull_quote/
    paragraph. A quote line directly after paragraph lines starts a new block, and vice
    versa, so a missing blank line around a pull quote does not merge it into a paragraph."""
    out: list[tuple[int, str, str]] = []
    run: list[str] = []
    run_kind = ""
    run_line = 0

    def flush() -> None:
        if run:
            text = " ".join(run)
            if run_kind == "paragraph" and text.startswith("\\"):
                text = text[1:]  # the writer's escape, see the module docstring
            out.append((run_line, run_kind, text))
            run.clear()

    for number, raw in enumerate(lines[start:], start=start + 1):
        line = raw.strip()
        if not line:
            flush()
            continue
        kind, content = _classify_line(line)
        if kind == "title" or kind != run_kind:
            flush()
        if not run:
            run_kind, run_line = kind, number
        run.append(content)
        if kind == "title":
            flush()
    flush()
    return [(n, k, t) for n, k, t in out if t]


def _classify_line(line: str) -> tuple[str, str]:
    if line.startswith("# "):
        return "title", line[2:].strip()
    if line.startswith(">"):
        return "pull_quote", line[1:].strip()
    return "paragraph", line
