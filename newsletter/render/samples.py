"""Sample subscriber values for previews, the demo and the benchmark.

Real links come from the web feature's signed tokens; previews only need something that
looks and measures like them.
"""

from __future__ import annotations

from newsletter.core.settings import get_settings


def sample_values(series_slug: str, number: int) -> dict[str, str]:
    base = get_settings().base_url.rstrip("/")
    token = "sample-token-0123456789abcdefghijklmnopqrstuvwxyz"
    return {
        "name": "Ana Reader",
        "email": "ana.reader@example.com",
        "unsubscribe_url": f"{base}/unsubscribe/{token}",
        "manage_url": f"{base}/manage/{token}",
        "web_url": f"{base}/s/{series_slug}/{number}",
    }
