"""Reply classification: transient vs permanent, and which permanent ones mean 'bounced'."""

from __future__ import annotations

import pytest

from newsletter.mail.errors import (
    PermanentSendError,
    TransientSendError,
    classify,
    parse_enhanced,
)


@pytest.mark.parametrize(
    ("code", "reply", "kind", "enhanced", "unknown"),
    [
        (421, "4.7.0 Try again later", TransientSendError, "4.7.0", False),
        (451, "4.3.0 Temporary failure", TransientSendError, "4.3.0", False),
        (450, b"Mailbox busy", TransientSendError, None, False),
        (None, "connection refused", TransientSendError, None, False),
        (
            550,
            "5.1.1 <x@example.org>: rejected",
            PermanentSendError,
            "5.1.1",
            True,
        ),
        (550, "5.1.10 Recipient address rejected: null MX", PermanentSendError, "5.1.10", True),
        (553, "5.1.3 Bad destination mailbox address syntax", PermanentSendError, "5.1.3", True),
        (550, "5.7.1 Message rejected as spam", PermanentSendError, "5.7.1", False),
        (552, "5.2.2 Mailbox full", PermanentSendError, "5.2.2", False),
        (550, "User unknown", PermanentSendError, None, True),
        (551, "No such user here", PermanentSendError, None, True),
        (550, "Requested action not taken: mailbox unavailable", PermanentSendError, None, True),
        (550, "Message rejected as spam", PermanentSendError, None, False),
        (554, "Transaction failed: user unknown", PermanentSendError, None, False),
        (550, "5.7.1 user unknown wording but policy code", PermanentSendError, "5.7.1", False),
    ],
)
def test_classify(
    code: int | None, reply: str | bytes, kind: type, enhanced: str | None, unknown: bool
) -> None:
    err = classify(code, reply)
    assert type(err) is kind
    assert err.code == code
    assert err.enhanced == enhanced
    if isinstance(err, PermanentSendError):
        assert err.is_mailbox_unknown is unknown


def test_multiline_reply_is_one_line() -> None:
    err = classify(
        550,
        b"5.1.1 The email account that you tried to reach does not exist.\n"
        b"5.1.1 Please try double-checking the recipient's email address",
    )
    assert "\n" not in err.reply and "\n" not in str(err)
    assert err.is_mailbox_unknown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.1.1 User unknown", "5.1.1"),
        ("2.0.0 Ok", "2.0.0"),
        ("5.1 x", None),
        ("hello", None),
        ("4.7.0", "4.7.0"),
        ("5.1.1user", None),
    ],
)
def test_parse_enhanced(text: str, expected: str | None) -> None:
    assert parse_enhanced(text) == expected
