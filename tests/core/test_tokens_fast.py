"""The fast token minter must write exactly what itsdangerous itself would."""

import pytest

from newsletter.core.tokens import _serializer, make_token, read_token


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe", "manage"])
@pytest.mark.parametrize(
    ("subscriber_id", "series_id"), [(1, 1), (42, None), (0, 0), (2**40 + 7, 123456789)]
)
def test_minted_token_is_byte_identical_to_the_serializer(
    clock, purpose, subscriber_id, series_id
) -> None:
    expected = _serializer(purpose).dumps({"s": subscriber_id, "r": series_id})
    assert make_token(purpose, subscriber_id, series_id) == expected
    data = read_token(expected, purpose)
    assert (data.subscriber_id, data.series_id) == (subscriber_id, series_id)


def test_minted_tokens_follow_the_clock(clock) -> None:
    first = make_token("unsubscribe", 5, 6)
    clock.advance(seconds=2)
    assert make_token("unsubscribe", 5, 6) != first
    assert read_token(first, "unsubscribe").subscriber_id == 5


def test_unknown_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown token purpose"):
        make_token("reset", 1)  # type: ignore[arg-type]
