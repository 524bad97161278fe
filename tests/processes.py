"""Helpers for the subprocesses tests start (Celery workers, the web server)."""

from __future__ import annotations

import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` for test subprocesses: SIGKILL them if the pytest process dies.

    A run that is itself killed (a timeout, Ctrl-C twice) skips its finalizers; without this
    its workers would live on, keep polling their Redis DB, and steal the tasks of a later
    run that happens to claim the same DB number.
    """
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
