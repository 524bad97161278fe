"""A programmable SMTP sink on loopback, for tests and the benchmark.

    from tests.support.smtp_sink import SmtpSink   # pytest puts the repo root on sys.path

    with SmtpSink() as sink:                       # aiosmtpd in a background thread
        url = sink.url                             # "smtp://127.0.0.1:<free port>"
        sink.reject(["gone@example.org"])          # 550 5.1.1 at RCPT for these
        sink.fail_transient_for(count=3)           # next 3 MAIL FROM get 421 (+ disconnect)
        sink.fail_transient_for(seconds=2.0, reply="451 4.3.0 Busy")  # or for a while
        ...send...
        assert sink.wait_for(10, timeout=5)        # 10 messages accepted
        mail_from, rcpt_tos, data = sink.messages[0]
        sink.connections                           # TCP connections seen (reuse checks)
        sink.reject_content(b"SPAM")               # 554 at end of DATA when data has it
        sink.drop_connections()                    # hang up on clients (idle timeout)

`SmtpSink(count_only=True)` keeps no message data, only `received`, for benchmarks.
SMTPUTF8 is advertised, so internationalised addresses can be delivered. Everything runs
in-process (no subprocess), and all state is guarded by one lock, so the test thread can
reprogram the sink while a client is talking to it.

Realistic on purpose: a 421 reply is followed by closing the connection, like Postfix
does, so clients must reconnect; other refusals leave the session usable after RSET.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.processes import free_port

__all__ = ["SmtpSink"]


class _Handler:
    """aiosmtpd hooks; every decision reads the sink's programmed state under its lock."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        reply = self.sink._transient_reply()
        if reply is not None:
            if reply.startswith("421"):
                # Let the reply be written first, then hang up, as a real server does.
                asyncio.get_running_loop().call_soon(server.transport.close)
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        reply = self.sink._rejection(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        assert isinstance(data, bytes)
        reply = self.sink._content_rejection(data)
        if reply is not None:
            return reply
        self.sink._store(envelope.mail_from, list(envelope.rcpt_tos), data)
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        self.sink = sink
        super().__init__(_Handler(sink), **kwargs)

    def factory(self) -> SMTP:  # called once per accepted connection
        server = super().factory()
        with self.sink._cond:
            self.sink.connections += 1
            self.sink._servers.append(server)
        return server


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts, rejects or stalls on command."""

    def __init__(self, *, count_only: bool = False, hostname: str = "127.0.0.1") -> None:
        self.count_only = count_only
        self.hostname = hostname
        self.port = free_port()
        self.connections = 0
        self.received = 0
        self.refused = 0
        self._messages: list[tuple[str, list[str], bytes]] = []
        self._rejections: dict[str, str] = {}
        self._fail_until = 0.0
        self._fail_count = 0
        self._fail_reply = ""
        self._content_rejections: list[tuple[bytes, str]] = []
        self._servers: list[SMTP] = []
        self._cond = threading.Condition()
        self._controller = _Controller(
            self,
            hostname=hostname,
            port=self.port,
            enable_SMTPUTF8=True,
            data_size_limit=50 * 1024 * 1024,
        )

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> SmtpSink:
        self._controller.start()
        with self._cond:
            self.connections = 0  # the controller's own readiness probe is not a client
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"smtp://{self.hostname}:{self.port}"

    # -- programming ------------------------------------------------------------------

    def fail_transient_for(
        self,
        seconds: float | None = None,
        count: int | None = None,
        *,
        reply: str = "421 4.7.0 Try again later, closing connection",
    ) -> None:
        """Answer MAIL FROM with a 4xx `reply` for `seconds` or for the next `count`
        transactions, then recover. A 421 also closes the connection."""
        if (seconds is None) == (count is None):
            raise ValueError("give exactly one of seconds or count")
        with self._cond:
            self._fail_reply = reply
            self._fail_until = time.monotonic() + seconds if seconds is not None else 0.0
            self._fail_count = count or 0

    def reject(self, addresses: Iterable[str], code: str = "550 5.1.1 User unknown") -> None:
        """Refuse these recipients at RCPT TO with `code` (a full reply line)."""
        with self._cond:
            for address in addresses:
                self._rejections[address.lower()] = code

    def reject_content(
        self, marker: bytes, reply: str = "554 5.6.0 Message content rejected"
    ) -> None:
        """Refuse at the end of DATA any message whose bytes contain `marker`."""
        with self._cond:
            self._content_rejections.append((marker, reply))

    def drop_connections(self) -> None:
        """Close every open client connection from the server side, like an idle timeout."""
        with self._cond:
            servers, self._servers = self._servers, []
        loop = self._controller.loop
        for server in servers:
            if server.transport is not None:
                loop.call_soon_threadsafe(server.transport.close)

    def clear(self) -> None:
        """Forget programmed failures and received messages (counters stay)."""
        with self._cond:
            self._rejections.clear()
            self._content_rejections.clear()
            self._fail_until, self._fail_count = 0.0, 0
            self._messages.clear()

    # -- observing --------------------------------------------------------------------

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        """A snapshot of (mail_from, rcpt_tos, data) for each accepted message."""
        with self._cond:
            return list(self._messages)

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least `n` messages were accepted; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.received < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # -- called from the server thread ------------------------------------------------

    def _transient_reply(self) -> str | None:
        with self._cond:
            if self._fail_count > 0:
                self._fail_count -= 1
            elif time.monotonic() >= self._fail_until:
                return None
            self.refused += 1
            return self._fail_reply

    def _rejection(self, address: str) -> str | None:
        with self._cond:
            reply = self._rejections.get(address.lower())
            if reply is not None:
                self.refused += 1
            return reply

    def _content_rejection(self, data: bytes) -> str | None:
        with self._cond:
            for marker, reply in self._content_rejections:
                if marker in data:
                    self.refused += 1
                    return reply
            return None

    def _store(self, mail_from: str | None, rcpt_tos: list[str], data: bytes) -> None:
        with self._cond:
            self.received += 1
            if not self.count_only:
                self._messages.append((mail_from or "", rcpt_tos, data))
            self._cond.notify_all()
