"""`newsletter preview`: write one rendered issue to files an editor can open.

Uses sample subscriber values, so the preview is exactly what a subscriber would get apart
from their name and links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from newsletter.content import load_series
from newsletter.core.errors import UserError
from newsletter.render import render_issue, sample_values

console = Console()


def register(root: typer.Typer) -> None:
    """Add `newsletter preview` to the root app."""
    root.command("preview")(preview)


def preview(
    path: Annotated[Path, typer.Argument(help="A plain-text manuscript or a series folder.")],
    essay: Annotated[int, typer.Option("--essay", "-n", help="Part number, from 1.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML part.")] = Path(
        "preview.html"
    ),
    text: Annotated[Path | None, typer.Option("--text", help="Also write the text part.")] = None,
    mjml: Annotated[Path | None, typer.Option("--mjml", help="Also write the MJML source.")] = None,
) -> None:
    """Render one essay as its email (HTML, optionally text and MJML) with sample values."""

    series = load_series(path)
    issue = render_issue(series, essay)
    html_part, text_part = issue.personalise(sample_values(series.slug, essay))
    written = [_write(out, html_part)]
    if text is not None:
        written.append(_write(text, text_part))
    if mjml is not None:
        written.append(_write(mjml, issue.mjml))
    console.print(
        f"Part {issue.number} of {issue.total}: {issue.subject} "
        f"({len(html_part.encode()) / 1024:.1f} KB HTML) → {', '.join(written)}",
        highlight=False,
        soft_wrap=True,
    )


def _write(path: Path, content: str) -> str:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    return str(path)
