"""`newsletter users`: console accounts and API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli.base import console, ready
from newsletter.core.db.session import transaction
from newsletter.users import queries, service

app = typer.Typer(help="Console accounts and API tokens.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Add `newsletter users` to the root app."""
    root.add_typer(app, name="users")


@app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="Login email.")],
    role: Annotated[str, typer.Option(help="editor, operator or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a console account; the password is prompted twice unless --password-stdin."""
    ready()
    service.check_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction() as session:
        user = service.create_user(session, email, password, role)
        user_id = user.id
    console.print(f"created {role} account {user_id}")


@app.command("token")
def users_token(email: Annotated[str, typer.Argument(help="Login email.")]) -> None:
    """Create an API token for an account and print it once (only its hash is stored)."""
    ready()
    with transaction() as session:
        token = service.issue_token(session, service.get_user(session, email))
    typer.echo(token)


@app.command("list")
def users_list() -> None:
    """List console accounts."""
    ready()
    with transaction() as session:
        rows = queries.all_users(session)
    table = Table("id", "email", "role", "last login")
    for user in rows:
        table.add_row(str(user.id), user.email, user.role, str(user.last_login_at or "—"))
    console.print(table)
