"""`newsletter demo`: the end-to-end demo that `make demo` runs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from newsletter.core.settings import get_settings
from newsletter.demo.run import DemoOptions, print_report, run_demo


def register(root: typer.Typer) -> None:
    """Add `newsletter demo` to the root app."""
    root.command("demo")(demo)


def demo(
    subscribers: Annotated[int, typer.Option(min=1, help="Demo subscribers to add.")] = 1000,
    gap: Annotated[float, typer.Option(min=0.5, help="Seconds between the parts.")] = 3.0,
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds to wait for the last part to finish.")
    ] = 90.0,
) -> None:
    """Deliver the sample series to demo subscribers with a real worker, offline.

    Wipes and uses NEWSLETTER_DATA_DIR/demo (var/demo by default). Exits 1 unless every
    delivery was sent.
    """
    console = Console()
    smtp_url = get_settings().smtp_url
    options = DemoOptions(
        subscribers=subscribers, gap=gap, concurrency=concurrency, timeout=timeout
    )
    try:
        report = run_demo(options, console)
    except KeyboardInterrupt:
        # run_demo has already stopped the worker and beat on its way out.
        console.print("[red]interrupted[/]: the worker and beat were stopped")
        raise typer.Exit(130) from None
    print_report(report, console, smtp_url)
    if not report.complete:
        raise typer.Exit(1)
