"""The `newsletter` command.

Each feature owns one module here with a `register(root)` function that adds its commands,
so features never edit each other's CLI code. `main()` turns a `UserError` into one line on
stderr and a non-zero exit instead of a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from newsletter.cli import (
    audit,
    content,
    db,
    delivery,
    demo,
    dns,
    inbound,
    render,
    series,
    subscribers,
    users,
    web,
)
from newsletter.core.errors import UserError

app = typer.Typer(
    name="newsletter",
    help="Self-hosted newsletter serialization.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)

for module in (
    content,
    render,
    db,
    series,
    subscribers,
    delivery,
    dns,
    inbound,
    web,
    users,
    audit,
    demo,
):
    module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
