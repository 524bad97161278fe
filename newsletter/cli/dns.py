"""`newsletter dns`: the DNS records to publish for this sender, and offline checks.

Prints zone-file lines (DKIM TXT per key, split into 255-character strings; an SPF hint;
a DMARC starting policy; the bounce domain's MX), each under a comment saying what it is
for, then the findings. `--json` gives the same for scripts. Exit 1 when a check fails
(for example the published public key is not the signing key's); a half-configured key is
a failed check here rather than an error, so the rest of the plan still prints.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from newsletter.cli.base import console
from newsletter.mail.dnsrecords import DnsPlan, dns_plan

_MARK = {"ok": "[green]ok[/]", "warning": "[yellow]warning[/]", "error": "[red]error[/]"}


def register(root: typer.Typer) -> None:
    """Add `newsletter dns` to the root app."""
    root.command("dns")(dns)


def dns(
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Print the DNS records to publish (DKIM, SPF, DMARC, MX) and check the DKIM keys."""
    plan = dns_plan()
    if as_json:
        # print(), not the rich console: JSON must not be wrapped or coloured.
        print(json.dumps(plan.as_dict(), indent=2))
    else:
        _print(plan)
    if not plan.ok:
        raise typer.Exit(1)


def _print(plan: DnsPlan) -> None:
    console.print(
        f"; DNS records for mail from {plan.from_domain} "
        f"(envelope sender domain {plan.envelope_domain})",
        highlight=False,
        markup=False,
    )
    for record in plan.records:
        console.print(f"\n; {record.note}", highlight=False, markup=False, soft_wrap=True)
        console.print(record.zone_line(), highlight=False, markup=False, soft_wrap=True)
    console.print()
    for check in plan.checks:
        console.print(f"{_MARK[check.level]}: {check.message}", highlight=False, soft_wrap=True)
