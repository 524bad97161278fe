"""`newsletter inbound`: read bounces, complaints and mailto unsubscribes sent back to us.

Two ways in. As an SMTP server (the default, a compose service behind the bounce domain's
MX): `newsletter inbound --host 0.0.0.0 --port 2525` runs until SIGTERM. Or one message on
stdin from an MTA's pipe transport (`--stdin`, with `--recipient` for the envelope
recipient, e.g. Postfix's `${recipient}`); the exit status follows sendmail's conventions,
which MTAs act on: 0 done (including "not ours, dropped"), 65 (EX_DATAERR) for bytes that
are no message, so the MTA bounces it, 75 (EX_TEMPFAIL) while the database is down, so the
MTA keeps it queued and tries again.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError

from newsletter.cli.base import console, ready
from newsletter.core.db import migrate
from newsletter.core.settings import get_settings
from newsletter.inbound import server
from newsletter.inbound.apply import Unreadable

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75


def register(root: typer.Typer) -> None:
    """Add `newsletter inbound` to the root app."""
    root.command("inbound")(inbound)


def inbound(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="SMTP port.")] = 2525,
    stdin: Annotated[
        bool, typer.Option("--stdin", help="Read one message from stdin (MTA pipe) and exit.")
    ] = False,
    recipient: Annotated[
        list[str] | None,
        typer.Option("--recipient", help="Envelope recipient of the piped message (repeatable)."),
    ] = None,
) -> None:
    """Receive DSNs, ARF complaints and mail to unsubscribe+<token>@ addresses, and act on them
    once each (bounced and complained addresses are suppressed)."""
    logging.getLogger("newsletter").setLevel(logging.INFO)
    if stdin:
        raise typer.Exit(_pipe(list(recipient or ())))
    ready()
    settings = get_settings()
    smtp = server.controller(settings, host, port)
    smtp.start()
    console.print(f"inbound SMTP listening on {host}:{port}", highlight=False)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        smtp.stop()


def _pipe(recipients: list[str]) -> int:
    """One message from stdin; the sendmail exit status."""
    raw = sys.stdin.buffer.read(server.MAX_MESSAGE_BYTES + 1)
    if len(raw) > server.MAX_MESSAGE_BYTES:
        typer.echo("inbound: message too large", err=True)
        return EX_DATAERR
    try:
        ready()
        outcome = server.handle(raw, recipients, get_settings())
    except Unreadable as exc:
        typer.echo(f"inbound: {exc}", err=True)
        return EX_DATAERR
    except (DBAPIError, migrate.SchemaOutOfDate) as exc:
        typer.echo(f"inbound: database unavailable ({type(exc).__name__}); retry later", err=True)
        return EX_TEMPFAIL
    typer.echo(f"inbound: {outcome}")
    return EX_OK
