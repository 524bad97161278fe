"""The one error type the content package raises for bad input.

It is a `UserError`, so the CLI prints its message on one line and exits non-zero instead of
showing a traceback: a malformed manuscript is the editor's to fix, not a bug.
"""

from newsletter.core.errors import UserError


class ContentError(UserError):
    """A manuscript or series folder that cannot be read; the message names the file."""
