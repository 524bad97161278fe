"""CLI commands for this feature (filled in by its issue)."""

import typer


def register(root: typer.Typer) -> None:
    """Add this feature's commands to the root app."""
