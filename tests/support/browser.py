"""What the browser tests share: the deployment they drive, Chromium, the screenshot folder."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.core.settings import PROJECT_ROOT
from tests.support.processes import Process
from tests.support.smtp_sink import SmtpSink

SCREENSHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"  # Debian's package: browser downloads fail here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class Deployment:
    """`newsletter web` and a worker on loopback, and the sink their mail goes to."""

    base_url: str
    sink: SmtpSink
    web: Process
    worker: Process
