"""The subscribers feature's public write API: what the web pages, the API and the CLI call.

A deliberate facade, so callers need one import for every change to a single person and
need not know how the feature is split inside: joining runs on Core (`signup`), later
changes on the ORM (`changes`), data-subject rights in `privacy`, and every rule behind
them in `lifecycle`. All take the caller's `Session` first and never commit, so a request
or command is one unit of work; mail goes out only after that unit commits. Reads are in
`queries`, the CSV import in `importer`, and bounce handling (called by delivery) in
`suppression`.
"""

from __future__ import annotations

from newsletter.subscribers.changes import (
    confirm,
    pause_subscription,
    resume_subscription,
    unsubscribe,
    unsubscribe_subscriber,
)
from newsletter.subscribers.lifecycle import ChangeResult
from newsletter.subscribers.privacy import erase, export
from newsletter.subscribers.signup import SignupResult, add_subscriber, signup

__all__ = [
    "ChangeResult",
    "SignupResult",
    "add_subscriber",
    "confirm",
    "erase",
    "export",
    "pause_subscription",
    "resume_subscription",
    "signup",
    "unsubscribe",
    "unsubscribe_subscriber",
]
