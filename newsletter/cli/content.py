"""`newsletter content check|import`: look at a manuscript, turn it into a series folder.

`check` is the editor's dry run: it shows how the parser read the text (which lines became
titles and pull quotes) before anything is written, and warns about the lines whose reading
was a close call (with `--strict`, a warning fails the check, for CI on a content repo).
`--json` output is plain `print`, not Rich, so scripts and tests get exactly the documented
shape (the API's `POST /api/v1/manuscripts/parse` returns the same document).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from newsletter.content import (
    Analysis,
    analyse_path,
    load_manuscript,
    title_from_slug,
    write_series,
)
from newsletter.content.errors import ContentError
from newsletter.content.model import Series
from newsletter.content.slugs import is_slug
from newsletter.core.settings import get_settings

app = typer.Typer(help="Manuscripts and series folders.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add the `content` sub-command group to the root app."""
    root.add_typer(app, name="content")


@app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="A plain-text manuscript or a series folder.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the parsed essays as JSON.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit non-zero if there is any warning.")
    ] = False,
) -> None:
    """Parse PATH and show its essays and warnings, without writing anything."""
    analysis = analyse_path(path)
    if as_json:
        print(json.dumps(analysis_json(analysis), ensure_ascii=False))
    else:
        console = Console(highlight=False)
        console.print(essay_table(analysis.series))
        for warning in analysis.warnings:
            console.print(f"warning: {warning.message}", markup=False)
    if strict and analysis.warnings:
        raise typer.Exit(1)


@app.command("import")
def import_(
    manuscript: Annotated[Path, typer.Argument(help="The plain-text manuscript to import.")],
    series_slug: Annotated[str, typer.Option("--series", help="Series slug, e.g. my-series.")],
    title: Annotated[str | None, typer.Option(help="Series title (default: from slug).")] = None,
    description: Annotated[str, typer.Option(help="One-sentence series description.")] = "",
    author: Annotated[str, typer.Option(help="Author or publication name.")] = "",
    out: Annotated[
        Path | None, typer.Option(help="Content folder (default: NEWSLETTER_CONTENT_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing series folder.")] = False,
) -> None:
    """Import MANUSCRIPT as the series folder OUT/SLUG (series.toml + one .md per essay)."""
    if not is_slug(series_slug):
        raise ContentError(
            f"invalid --series {series_slug!r}: use lower-case ASCII letters, digits, hyphens"
        )
    series = load_manuscript(manuscript, slug=series_slug)
    series = dataclasses.replace(
        series,
        title=title or title_from_slug(series_slug),
        description=description,
        author=author,
    )
    target = write_series(series, out or get_settings().content_dir, force=force)
    Console().print(f"Wrote {target} ({len(series.essays)} essays)", highlight=False)


def series_json(series: Series) -> dict:
    """The essays part of `check --json`: essays with their blocks in manuscript order."""
    return {"essays": [essay.to_dict() for essay in series.essays]}


def analysis_json(analysis: Analysis) -> dict:
    """The documented `check --json` shape: the essays, then the warnings in line order."""
    return analysis.to_dict()


def essay_table(series: Series) -> Table:
    table = Table(title=f"{series.title} ({series.slug})")
    table.add_column("#", justify="right")
    table.add_column("Title")
    table.add_column("Paragraphs", justify="right")
    table.add_column("Pull quotes", justify="right")
    for essay in series.essays:
        table.add_row(
            str(essay.number),
            essay.title,
            str(len(essay.paragraphs)),
            str(len(essay.pull_quotes)),
        )
    return table
