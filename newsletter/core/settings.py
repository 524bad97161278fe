"""One settings object, built from `NEWSLETTER_*` environment variables.

Secrets (SECRET_KEY, SMTP credentials inside SMTP_URL, DKIM key) only ever come from the
environment; nothing here is logged.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import secrets
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.core.errors import UserError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSLETTER_", extra="ignore")

    data_dir: Path = Path("./var")
    base_url: str = "http://localhost:8000"
    from_: str = Field(
        default="Tech Labor Letters <letters@example.com>",
        validation_alias="NEWSLETTER_FROM",
    )
    postal_address: str = "Tech Labor Letters, 1 Example Street, 10115 Berlin, Germany"
    secret_key: SecretStr | None = None

    # Storage and transport. Empty means "local, zero-setup" defaults (see the properties).
    database_url: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None

    # Delivery tuning.
    rate_limit: float = 0.0  # messages per second across all workers; 0 = unlimited
    batch_size: int = 200
    max_attempts: int = 5
    lease_seconds: int = 300
    # Each worker process refreshes its heartbeat this often; a tick treats a worker whose
    # heartbeat is older than heartbeat_timeout as dead and releases its claimed rows.
    heartbeat_seconds: float = 5.0
    heartbeat_timeout: float = 20.0
    # A `queued` row older than this while the broker queue is empty lost its task message
    # (a broker restart without persistence, or a killed worker's prefetch): publish again.
    # When a dead worker is found, its prefetched message is presumed lost at once.
    republish_after: float = 60.0
    tick_seconds: float = 30.0
    retry_base_seconds: float = 30.0

    # Web (`newsletter web`).
    signup_rate_limit: int = 10  # POST /subscribe attempts per client IP per window; 0 = off
    signup_rate_window: int = 600  # seconds, for the signup and login rate limits
    # Every signup answer takes at least this long, so a new address (insert + enqueue) and a
    # known one cannot be told apart by timing. Awaited, holding no thread or DB connection.
    signup_min_seconds: float = 0.03
    # Signups in flight per web process (worker threads). Each holds one pooled DB connection,
    # so this must stay within the pool (5 + 10 overflow). The work is mostly Python, so more
    # threads only fight over the GIL: on 2 cores, 2-3 beat 8 by 20-40% in bench/signup_load.
    signup_concurrency: int = 3
    login_rate_limit: int = 20  # console login attempts per client IP per window
    # Failed console sign-ins per account (from any client) before that account's sign-in is
    # refused for the rest of the window, which runs from the first failure; 0 = off.
    login_account_limit: int = 10
    login_account_window: int = 900  # seconds
    session_max_age: int = 12 * 3600  # seconds a console login lasts
    web_workers: int = 0  # uvicorn worker processes for `newsletter web`; 0 = one per CPU core
    # Reverse proxies whose X-Forwarded-For / -Proto we believe: comma-separated IPs or CIDRs.
    # Empty (the default) trusts nobody, so a client cannot pick its own address and dodge
    # the per-address rate limits by rotating the header.
    forwarded_allow_ips: str = ""
    # /metrics shows subscriber counts, so it is never public: with a token it answers only
    # `Authorization: Bearer <token>`; with a bind address (host:port) `newsletter web` also
    # serves it on that private listener. With neither, /metrics answers 404.
    metrics_token: SecretStr | None = None
    metrics_bind: str | None = None
    # Request bodies larger than this get a 413 before anything parses them.
    max_body_bytes: int = 1_000_000
    test_send_timeout: float = 10.0  # seconds the console's "send a test" waits on SMTP

    # Inbound mail (`newsletter inbound`) and the automatic brakes. With a bounce domain each
    # delivery's envelope sender is `bounce+<signed token>@<domain>` (VERP) and the
    # List-Unsubscribe mailto is `unsubscribe+<signed token>@<domain>`; its MX must point at
    # `newsletter inbound`. Empty keeps NEWSLETTER_FROM as the envelope sender.
    bounce_domain: str = ""
    soft_bounce_limit: int = 3  # soft bounces (4.x.x DSNs) in a row that suppress an address
    # An issue pauses itself once, after at least brake_min_sends attempted messages, its
    # hard-bounce or complaint rate exceeds these (fractions; 0.05 = 5 %).
    brake_min_sends: int = 500
    brake_bounce_rate: float = 0.05
    brake_complaint_rate: float = 0.003

    # Optional DKIM signing: an RSA key (selector + key), an Ed25519 key (RFC 8463), or
    # both, when each message carries two signatures (receivers that do not know Ed25519
    # ignore that one). The key settings take PEM; Ed25519 also dkimpy's base64 seed.
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key: SecretStr | None = None  # PEM text
    dkim_private_key_file: Path | None = None
    dkim_ed25519_selector: str | None = None
    dkim_ed25519_private_key: SecretStr | None = None
    dkim_ed25519_private_key_file: Path | None = None
    # What is published (PEM public keys and/or DKIM TXT records): `newsletter dns` checks
    # each private key's public half is in it.
    dkim_public_key_file: Path | None = None

    content_dir: Path = PROJECT_ROOT / "content"
    templates_dir: Path = PROJECT_ROOT / "templates"

    _file_secret: str | None = PrivateAttr(default=None)

    @field_validator("metrics_token", "metrics_bind", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`NEWSLETTER_METRICS_TOKEN=` (as compose passes an unset variable) means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        """Every entry an IP or a CIDR: uvicorn would quietly treat a typo as a literal that
        never matches, and the admin would wonder why the proxy is not believed."""
        for entry in trusted_proxies(value):
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry[:60]!r} is not an IP address or CIDR") from None
        return value

    @field_validator("metrics_bind")
    @classmethod
    def _bind(cls, value: str | None) -> str | None:
        if value is not None:
            split_bind(value)
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("use at least 16 characters (e.g. openssl rand -hex 24)")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsletter.db').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return "filesystem://"

    @property
    def resolved_redis_url(self) -> str | None:
        """Redis for shared state (rate limits, counters): explicit, else the broker if Redis."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None

    def secret(self) -> str:
        """The signing key; generated into the data dir on first use when unset.

        Read once per Settings object: tokens are minted per message and per request, and a
        file read each time would put disk I/O on those hot paths.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self._file_secret is None:
            self._file_secret = self._load_or_create_secret()
        return self._file_secret

    def _load_or_create_secret(self) -> str:
        path = self.data_dir / "secret_key"
        if not self.data_dir.exists():
            self.data_dir.mkdir(mode=0o700, parents=True)  # the key and the database live here
        try:
            # O_EXCL: of two processes starting at once, exactly one writes the key (and it is
            # never readable by others, not even briefly); the other reads the winner's.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        log.warning(
            "NEWSLETTER_SECRET_KEY is unset; generated one in %s. Set it in production.", path
        )
        return path.read_text().strip()


def trusted_proxies(value: str) -> list[str]:
    """`NEWSLETTER_FORWARDED_ALLOW_IPS` as a list ([] when empty)."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


def split_bind(value: str) -> tuple[str, int]:
    """`127.0.0.1:9108` or `[::1]:9108` → (host, port); ValueError with a readable reason."""
    host, sep, port = value.strip().rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value[:60]!r} is not host:port, e.g. 127.0.0.1:9108")
    return host, int(port)


class SettingsError(UserError):
    """A NEWSLETTER_* variable holds something unusable: one line, not a pydantic report."""


@functools.cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        name = name if name.startswith("NEWSLETTER_") else f"NEWSLETTER_{name}"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
