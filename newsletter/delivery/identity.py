"""Who a newsletter is from and the links it carries: computed once, used per message.

The envelope sender, the List-Id and the personal links (unsubscribe, manage, web archive)
live here so the send service, the confirmation task and tests agree on one shape.

With NEWSLETTER_BOUNCE_DOMAIN set, the envelope sender names the delivery
(`bounce+<token>@<domain>`, VERP) so a bounce that arrives days later tells us which
message it is about, and the List-Unsubscribe mailto names the subscription
(`unsubscribe+<token>@<domain>`); `newsletter inbound` reads both back.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from newsletter.core.settings import Settings
from newsletter.core.tokens import make_token, verp_token

BOUNCE_PREFIX = "bounce+"
MAIL_MARK = "m."  # after BOUNCE_PREFIX: the token names a one-off `mail` row, not a delivery
UNSUBSCRIBE_PREFIX = "unsubscribe+"


@dataclass(frozen=True)
class Identity:
    sender: str  # the From header, "Name <address>"
    address: str  # the envelope sender (MAIL FROM)
    domain: str  # for Message-ID and List-Id
    base_url: str
    bounce_domain: str = ""  # VERP return paths and mailto unsubscribes; "" = off

    @classmethod
    def from_settings(cls, settings: Settings) -> Identity:
        address = parseaddr(settings.from_)[1] or "newsletter@localhost"
        domain = address.rpartition("@")[2] or "localhost"
        bounce = settings.bounce_domain.strip().lower()
        return cls(settings.from_, address, domain, settings.base_url.rstrip("/"), bounce)

    def envelope_sender(self, delivery_id: int) -> str:
        """MAIL FROM for one delivery: its signed VERP address, or the From address."""
        if not self.bounce_domain:
            return self.address
        return f"{BOUNCE_PREFIX}{verp_token('bounce', delivery_id)}@{self.bounce_domain}"

    def mail_envelope_sender(self, mail_id: int, fallback: str) -> str:
        """MAIL FROM for a one-off mail row (a confirmation): `bounce+m.<token>@…`, so a
        late bounce of a confirmation suppresses the address too; else `fallback`."""
        if not self.bounce_domain:
            return fallback
        return f"{BOUNCE_PREFIX}{MAIL_MARK}{verp_token('mail', mail_id)}@{self.bounce_domain}"

    def unsubscribe_mailto_for(self, subscriber_id: int, series_id: int) -> str:
        """The List-Unsubscribe mailto: a signed per-subscription address when a bounce
        domain is set (any mail to it unsubscribes), else the From address with a subject."""
        if not self.bounce_domain:
            return self.unsubscribe_mailto
        token = verp_token("unsubscribe", subscriber_id, series_id)
        return f"mailto:{UNSUBSCRIBE_PREFIX}{token}@{self.bounce_domain}?subject=unsubscribe"

    def list_id(self, series_slug: str, series_title: str) -> str:
        """RFC 2919 List-Id: one list per series, so filters and unsubscribes are per series."""
        title = " ".join(series_title.replace("<", "").replace(">", "").split())
        return f"{title} <{series_slug}.{self.domain}>" if title else f"{series_slug}.{self.domain}"

    @property
    def unsubscribe_mailto(self) -> str:
        return f"mailto:{self.address}?subject=unsubscribe"

    def links(
        self, subscriber_id: int, series_id: int, series_slug: str, number: int
    ) -> dict[str, str]:
        """The personal URLs of one issue for one subscriber (the tokens never expire)."""
        unsubscribe = make_token("unsubscribe", subscriber_id, series_id)
        manage = make_token("manage", subscriber_id, series_id)
        return {
            "unsubscribe_url": f"{self.base_url}/unsubscribe/{unsubscribe}",
            "manage_url": f"{self.base_url}/manage/{manage}",
            "web_url": f"{self.base_url}/archive/{series_slug}/{number}",
        }
