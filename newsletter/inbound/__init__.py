"""Inbound mail: bounces (DSNs), complaints (ARF) and mailto unsubscribes read back.

`parse` sorts a message (pure), `apply` acts on it through the subscribers and delivery
services (once per message), `server` is the SMTP side of `newsletter inbound`.
"""
