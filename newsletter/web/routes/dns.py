"""The operators' DNS page: the records to publish and the offline key checks.

The same `DnsPlan` that `newsletter dns` prints (newsletter.mail.dnsrecords), so the
console and the CLI can never disagree about what to publish.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from newsletter.mail.dnsrecords import dns_plan
from newsletter.users.models import Role
from newsletter.web.auth import console_router
from newsletter.web.templating import render

router = console_router("/admin/dns", Role.OPERATOR)


@router.get("")
def dns_page(request: Request) -> Response:
    return render(request, "admin/dns.html", {"plan": dns_plan(), "section": "dns"})
