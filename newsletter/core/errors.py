"""User-facing errors.

Anything raised as a `UserError` is the user's mistake (bad input, bad token, missing file):
the CLI prints its message on one line and exits non-zero, the web answers 4xx. Everything
else is a bug and may show a traceback.
"""


class UserError(Exception):
    """A mistake the user can fix; `str(err)` is a complete one-line explanation."""

    exit_code = 2
    http_status = 400


class NotFound(UserError):
    http_status = 404


class InvalidToken(UserError):
    """A token that is tampered, expired or meant for another purpose."""

    http_status = 400


class Conflict(UserError):
    http_status = 409
