import pytest

from newsletter.subscribers.addresses import (
    InvalidAddress,
    InvalidName,
    clean_name,
    normalise_email,
)


@pytest.mark.parametrize(
    ("raw", "email", "key"),
    [
        ("  Foo.Bar@Example.COM ", "Foo.Bar@example.com", "foo.bar@example.com"),
        ("用户@例子.广告", "用户@例子.广告", "用户@例子.广告"),
        ("josé@example.com", "josé@example.com", "josé@example.com"),
    ],
)
def test_normalise(raw, email, key) -> None:
    address = normalise_email(raw)
    assert (address.email, address.key) == (email, key)


@pytest.mark.parametrize(
    "raw", ["", "no-at-sign", "a@b", "two@@example.com", "a@example.com\r\nBcc: x@y.z"]
)
def test_invalid_addresses(raw) -> None:
    with pytest.raises(InvalidAddress) as err:
        normalise_email(raw)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["Eve\r\nBcc: a@b.c", "Eve\nX", "Eve\rX", "Eve\x00"])
def test_names_reject_header_injection(name) -> None:
    with pytest.raises(InvalidName):
        clean_name(name)


def test_names_are_trimmed_and_bounded() -> None:
    assert clean_name("  Zoë  ") == "Zoë"
    assert clean_name(None) == ""
    with pytest.raises(InvalidName, match="longer"):
        clean_name("x" * 201)
