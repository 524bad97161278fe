"""`newsletter users`: console accounts, their passwords, sessions and API tokens.

Changes made here are audited like the console's, with the actor `cli` (whoever has a shell
on the server and so the database). Disabling, a new password and `logout-all` end the
account's console sessions at their next request; a disabled account's API tokens stop at
once. The last enabled admin cannot be disabled (exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli.base import console, ready
from newsletter.core.db.session import transaction
from newsletter.users import admin, queries, service
from newsletter.users.audit import Actor

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
    password = _read_password(password_stdin)
    with transaction() as session:
        user = service.create_user(session, email, password, role, actor=Actor.cli())
        user_id = user.id
    console.print(f"created {role} account {user_id}")


@app.command("token")
def users_token(email: Annotated[str, typer.Argument(help="Login email.")]) -> None:
    """Create an API token for an account and print it once (only its hash is stored)."""
    ready()
    with transaction() as session:
        user = service.get_user(session, email)
        token = service.issue_token(session, user, actor=Actor.cli())
    typer.echo(token)


@app.command("list")
def users_list() -> None:
    """List console accounts."""
    ready()
    with transaction() as session:
        rows = queries.all_users(session)
    table = Table("id", "email", "role", "state", "last login")
    for user in rows:
        state = "disabled" if user.disabled_at else "enabled"
        table.add_row(str(user.id), user.email, user.role, state, _when(user.last_login_at))
    console.print(table)


def _read_password(from_stdin: bool) -> str:
    """One line of stdin, or a hidden prompt typed twice."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def _iso(value: dt.datetime | None) -> str | None:
    return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z") if value else None


EmailArg = Annotated[str, typer.Argument(help="Login email.")]


@app.command("disable")
def users_disable(email: EmailArg) -> None:
    """Disable an account: its sessions end and its API tokens stop working at once."""
    ready()
    with transaction() as session:
        ended = admin.disable(session, Actor.cli(), service.get_user(session, email).id)
    console.print(f"disabled; {ended} session(s) signed out")


@app.command("enable")
def users_enable(email: EmailArg) -> None:
    """Let a disabled account sign in again (its unrevoked API tokens work again)."""
    ready()
    with transaction() as session:
        admin.enable(session, Actor.cli(), service.get_user(session, email).id)
    console.print("enabled")


@app.command("passwd")
def users_passwd(
    email: EmailArg,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set an account's password (prompted twice unless --password-stdin); every session
    of the account is signed out."""
    ready()
    with transaction() as session:
        user_id = service.get_user(session, email).id  # a typo fails before the prompt
    password = _read_password(password_stdin)
    with transaction() as session:
        ended = admin.set_password(session, Actor.cli(), user_id, password)
    console.print(f"password set; {ended} session(s) signed out")


@app.command("logout-all")
def users_logout_all(email: EmailArg) -> None:
    """Sign an account out of every console session."""
    ready()
    with transaction() as session:
        ended = admin.logout_everywhere(session, Actor.cli(), service.get_user(session, email).id)
    console.print(f"{ended} session(s) signed out")


@app.command("tokens")
def users_tokens(
    email: EmailArg,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List an account's API tokens: id, created, last used, revoked (never the secret)."""
    ready()
    with transaction() as session:
        rows = queries.tokens_of(session, service.get_user(session, email).id)
    if as_json:
        items = [
            {
                "id": t.id,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in rows
        ]
        typer.echo(json.dumps(items, indent=2))
        return
    table = Table("id", "created", "last used", "revoked")
    for t in rows:
        table.add_row(str(t.id), _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
    console.print(table)


@app.command("revoke-token")
def users_revoke_token(token_id: Annotated[int, typer.Argument(help="Token id.", min=1)]) -> None:
    """Revoke an API token for good (ids from `newsletter users tokens EMAIL`)."""
    ready()
    with transaction() as session:
        admin.revoke_token(session, Actor.cli(), token_id)
    console.print(f"token {token_id} revoked")


@app.command("sessions")
def users_sessions(email: EmailArg) -> None:
    """List an account's live console sessions."""
    ready()
    with transaction() as session:
        rows = queries.live_sessions(session, service.get_user(session, email).id)
    table = Table("id", "started", "last seen", "ends", "browser")
    for s in rows:
        table.add_row(
            str(s.id), _when(s.created_at), _when(s.last_seen_at), _when(s.expires_at),
            s.user_agent[:60] or "—",
        )  # fmt: skip
    console.print(table)
