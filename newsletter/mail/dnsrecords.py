"""The DNS records a sender publishes, derived from the settings, and checks run offline.

`newsletter dns` and the console's /admin/dns show the same `DnsPlan`: a DKIM TXT record
for each signing key (its public half derived from the private key that signs), an SPF
hint for the envelope domain, a DMARC starting policy, and the MX of the bounce domain.
Nothing here asks DNS: the checks compare what is configured with itself and, when
NEWSLETTER_DKIM_PUBLIC_KEY_FILE names what was published, with that.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from email.utils import parseaddr
from typing import Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.core.settings import Settings, get_settings
from newsletter.mail.dkim import keys_from_settings
from newsletter.mail.dkimkeys import DkimConfigError, DkimKey, public_keys_in, txt_strings

__all__ = ["Check", "DnsPlan", "Record", "dns_plan"]

Level = Literal["ok", "warning", "error"]
TTL = 3600
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")


@dataclass(frozen=True)
class Record:
    name: str  # fully qualified, without the final dot
    type: Literal["TXT", "MX"]
    value: str  # TXT: the whole text; MX: "preference host."
    note: str
    strings: list[str] = field(default_factory=list)  # TXT: ≤ 255-character pieces

    def zone_line(self) -> str:
        """The record as a zone file line (TXT pieces quoted, as a resolver joins them)."""
        data = " ".join(f'"{s}"' for s in self.strings) if self.type == "TXT" else self.value
        return f"{self.name}. {TTL} IN {self.type} {data}"


@dataclass(frozen=True)
class Check:
    level: Level
    message: str


@dataclass(frozen=True)
class DnsPlan:
    from_domain: str
    envelope_domain: str
    records: list[Record]
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.level != "error" for c in self.checks)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def _txt(name: str, value: str, note: str) -> Record:
    return Record(name, "TXT", value, note, txt_strings(value))


def _domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2].lower()


def _aligned(signing: str, author: str) -> bool:
    """Relaxed DMARC alignment, approximated without the public suffix list: the same
    domain, or one a parent of the other."""
    signing, author = signing.lower(), author.lower()
    return signing == author or author.endswith("." + signing) or signing.endswith("." + author)


def _dkim_records(keys: tuple[DkimKey, ...]) -> list[Record]:
    return [
        _txt(
            key.record_name,
            key.txt_record(),
            f"DKIM {key.describe()} key, selector {key.selector} ({key.algorithm})",
        )
        for key in keys
    ]


def _key_checks(keys: tuple[DkimKey, ...], from_domain: str, published: set[str] | None):
    checks = []
    for key in keys:
        label = f"DKIM key {key.selector} ({key.describe()})"
        if published is not None:
            if key.public_key_b64() in published:
                checks.append(Check("ok", f"{label}: matches the published public key"))
            else:
                checks.append(
                    Check(
                        "error",
                        f"{label}: its public key is not in NEWSLETTER_DKIM_PUBLIC_KEY_FILE; "
                        "receivers would fail every signature",
                    )
                )
        if isinstance(key.private_key, rsa.RSAPrivateKey) and key.private_key.key_size < 2048:
            checks.append(Check("warning", f"{label}: RSA under 2048 bits; use 2048"))
        if not _aligned(key.domain, from_domain):
            checks.append(
                Check(
                    "warning",
                    f"{label}: d={key.domain} is not aligned with the From domain "
                    f"{from_domain}, so it does not count for DMARC",
                )
            )
    if keys and all(k.algorithm == "ed25519-sha256" for k in keys):
        checks.append(
            Check(
                "warning",
                "only an Ed25519 key: many receivers do not verify Ed25519 yet; "
                "sign with an RSA key beside it",
            )
        )
    return checks


def _published(settings: Settings) -> tuple[set[str] | None, list[Check]]:
    path = settings.dkim_public_key_file
    if path is None:
        return None, []
    try:
        found = public_keys_in(path.read_bytes())
    except OSError as exc:
        return set(), [
            Check("error", f"cannot read NEWSLETTER_DKIM_PUBLIC_KEY_FILE: {exc.strerror}")
        ]
    if not found:
        return set(), [Check("error", "NEWSLETTER_DKIM_PUBLIC_KEY_FILE holds no public key")]
    return found, []


def _mx_host(settings: Settings) -> str:
    host = (urlsplit(settings.base_url).hostname or "").lower()
    return "" if host in _LOCAL_HOSTS else host


def _link_checks(base_url: str) -> list[Check]:
    """Links in mail come from NEWSLETTER_BASE_URL: a local host or an odd port there is
    scored by spam filters (SpamAssassin's WEIRD_PORT) and fails readers."""
    parts = urlsplit(base_url)
    if (parts.hostname or "").lower() in _LOCAL_HOSTS:
        return [
            Check(
                "warning",
                f"NEWSLETTER_BASE_URL ({base_url}) is local: links in mail would not open "
                "for readers",
            )
        ]
    try:
        port = parts.port
    except ValueError:
        return [Check("error", f"NEWSLETTER_BASE_URL ({base_url}) has an invalid port")]
    if port not in (None, 80, 443):
        return [
            Check(
                "warning",
                f"NEWSLETTER_BASE_URL uses port {port}: spam filters score links with "
                "non-standard ports",
            )
        ]
    return []


def dns_plan(settings: Settings | None = None) -> DnsPlan:
    """Every record to publish and every finding, for the configured sender."""
    s = settings or get_settings()
    from_domain = _domain_of(s.from_) or "example.com"
    envelope = s.bounce_domain.strip().lower() or from_domain
    checks: list[Check] = []
    try:
        keys = keys_from_settings(s)
    except DkimConfigError as exc:
        keys = ()
        checks.append(Check("error", str(exc)))
    records = _dkim_records(keys)
    if not keys and not checks:
        checks.append(Check("warning", "DKIM is off: mail goes out unsigned (NEWSLETTER_DKIM_*)"))
    published, found = _published(s)
    checks += found
    checks += _key_checks(keys, from_domain, published)

    records.append(
        _txt(
            envelope,
            "v=spf1 mx a ~all",
            "SPF for the envelope sender (bounce) domain: a hint; list the addresses your "
            "SMTP relay sends from (ip4:… or include:…), then tighten ~all to -all",
        )
    )
    records.append(
        _txt(
            f"_dmarc.{from_domain}",
            f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{from_domain}; adkim=r; aspf=r",
            "DMARC starting policy: p=none only collects reports (create that mailbox); "
            "move to p=quarantine, then p=reject, once they show all mail passing",
        )
    )
    if s.bounce_domain.strip():
        host = _mx_host(s)
        if host:
            records.append(
                Record(
                    envelope,
                    "MX",
                    f"10 {host}.",
                    "where DSNs, complaints and mailto unsubscribes arrive: the host that "
                    "runs `newsletter inbound` on port 25",
                )
            )
        else:
            checks.append(
                Check(
                    "warning",
                    "no MX printed: NEWSLETTER_BASE_URL names no public host to receive "
                    "bounces; point the bounce domain's MX at the host running "
                    "`newsletter inbound`",
                )
            )
    else:
        checks.append(
            Check(
                "warning",
                "NEWSLETTER_BOUNCE_DOMAIN is unset: no MX printed, and bounces go to the "
                "From domain's own mail server",
            )
        )
    checks += _link_checks(s.base_url)
    return DnsPlan(from_domain, envelope, records, checks)
