import pytest

from newsletter.core.errors import InvalidToken
from newsletter.core.tokens import ExpiredToken, make_token, read_token


def test_round_trip_carries_ids(clock) -> None:
    token = make_token("confirm", 42, 7)
    data = read_token(token, "confirm")
    assert (data.subscriber_id, data.series_id) == (42, 7)
    assert read_token(make_token("manage", 5), "manage").series_id is None


def test_confirm_expires_after_seven_days(clock) -> None:
    token = make_token("confirm", 1, 2)
    clock.advance(days=7, seconds=-60)
    assert read_token(token, "confirm").subscriber_id == 1
    clock.advance(seconds=120)
    with pytest.raises(ExpiredToken, match="expired"):
        read_token(token, "confirm")


@pytest.mark.parametrize("purpose", ["unsubscribe", "manage"])
def test_unsubscribe_and_manage_never_expire(clock, purpose) -> None:
    token = make_token(purpose, 3, 4)
    clock.advance(days=3650)
    assert read_token(token, purpose).subscriber_id == 3


@pytest.mark.parametrize(
    ("made", "used"),
    [("confirm", "unsubscribe"), ("unsubscribe", "confirm"), ("manage", "unsubscribe")],
)
def test_purpose_mix_up_is_rejected(clock, made, used) -> None:
    with pytest.raises(InvalidToken) as err:
        read_token(make_token(made, 1, 1), used)
    assert not isinstance(err.value, ExpiredToken)
    assert err.value.http_status == 400


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "x" + t,
        lambda t: t.split(".")[0],
        lambda t: "",
        lambda t: "not a token at all ✓",
        lambda t: None,
    ],
)
def test_tampered_tokens_are_invalid_not_crashes(clock, mangle) -> None:
    with pytest.raises(InvalidToken, match="invalid"):
        read_token(mangle(make_token("unsubscribe", 9, 1)), "unsubscribe")


def test_other_secret_is_invalid(clock, monkeypatch) -> None:
    from newsletter.core.settings import reset_settings

    token = make_token("unsubscribe", 9, 1)
    monkeypatch.setenv("NEWSLETTER_SECRET_KEY", "another-secret")
    reset_settings()
    with pytest.raises(InvalidToken):
        read_token(token, "unsubscribe")
