"""Running `newsletter …` in-process through Typer's CliRunner: it works, or it is a user error."""

from __future__ import annotations

from typer.testing import CliRunner

from newsletter.cli import app
from newsletter.core.errors import UserError
from newsletter.core.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content" / "tech-labor-and-ai"  # the seed as imported into content/
runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def partial(*args: str) -> str:
    """A command that did part of its job and says so: exit 1, the report on stdout."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, (result.output, result.exception)
    return result.output


def fails(*args: str) -> str:
    """A user mistake: a UserError with a one-line message (main() prints it, exit 2)."""
    result = runner.invoke(app, list(args))
    assert result.exit_code != 0
    assert isinstance(result.exception, UserError), result.exception
    message = str(result.exception)
    assert message and "\n" not in message
    return message
