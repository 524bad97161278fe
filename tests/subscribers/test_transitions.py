"""The lifecycle rules on their own: pure decisions, no database, no clock, no mail.

The writers (Core signup, bulk import, ORM links) only apply these answers; the tests in
tests/persistence and tests/web check that they do, on both databases.
"""

from __future__ import annotations

import datetime as dt

import pytest

from newsletter.core.errors import Conflict, InvalidToken
from newsletter.subscribers import lifecycle
from newsletter.subscribers.facts import LastMail
from newsletter.subscribers.lifecycle import (
    RESEND_INTERVAL,
    Join,
    Membership,
    Outcome,
    Person,
)

NOW = dt.datetime(2026, 11, 20, 12, 0)
RECENT = NOW - RESEND_INTERVAL + dt.timedelta(seconds=1)  # a mail went out just now
LONG_AGO = NOW - RESEND_INTERVAL  # the interval has passed


def person(status: str, sent: dt.datetime | None = RECENT, **kw: object) -> Person:
    return Person(7, status, name=kw.pop("name", "Ann"), confirmation_sent_at=sent, **kw)


def member(status: str, mode: str | None = "broadcast", **kw: object) -> Membership:
    return Membership(kw.pop("series_id", 3), status, mode=mode, **kw)


# --- joining: a new address -----------------------------------------------------------


def test_new_address_signs_up_pending_with_a_mail() -> None:
    got = lifecycle.join(Join("web", name="Ann"), "serial", NOW)
    assert (got.outcome, got.mail) == (Outcome.CREATED, True)
    assert got.subscriber == {
        "status": "pending",
        "name": "Ann",
        "source": "web",
        "created_at": NOW,
        "confirmed_at": None,
        "confirmation_sent_at": NOW,
    }
    assert got.subscription == {"status": "pending"}  # serial progress waits for confirm
    assert got.event == ("signup", {"source": "web"})


@pytest.mark.parametrize(("mode", "due"), [("serial", {"next_due_at": NOW}), ("broadcast", {})])
def test_new_address_vouched_for_is_active_without_mail(mode: str, due: dict) -> None:
    got = lifecycle.join(Join("cli", confirmed=True), mode, NOW)
    assert (got.outcome, got.mail) == (Outcome.ADDED, False)
    assert got.subscriber["status"] == "active"
    assert (got.subscriber["confirmed_at"], got.subscriber["confirmation_sent_at"]) == (NOW, None)
    assert got.subscription == {"status": "active", **due}
    assert got.event == ("added", {"source": "cli", "confirmed": True})


@pytest.mark.parametrize("confirmed", [True, False])
def test_an_import_row_records_imported(confirmed: bool) -> None:
    got = lifecycle.join(Join(lifecycle.IMPORT, confirmed, "Bo"), "broadcast", NOW)
    assert got.event == ("imported", {"confirmed": confirmed})
    assert got.subscriber["source"] == "import" and got.mail is not confirmed


# --- joining: a known address, double opt-in --------------------------------------------


def signup(known: Person, current: Membership | None = None, name: str = "") -> lifecycle.Joining:
    return lifecycle.join(Join("web", name=name), "broadcast", NOW, known, current)


@pytest.mark.parametrize("status", ["bounced", "complained"])
def test_suppressed_addresses_are_never_mailed(status: str) -> None:
    got = signup(person(status, sent=None), member("stopped"))
    assert (got.outcome, got.event, got.mail) == (Outcome.SUPPRESSED, None, False)


@pytest.mark.parametrize("sub_status", ["active", "paused", "finished"])
def test_active_in_a_confirmed_series_changes_nothing(sub_status: str) -> None:
    got = signup(person("active", sent=None), member(sub_status))
    assert (got.outcome, got.event, got.mail) == (Outcome.ALREADY_ACTIVE, None, False)


def test_pending_repeat_is_rate_limited_then_resent() -> None:
    assert signup(person("pending"), member("pending")) == lifecycle.Joining(Outcome.RATE_LIMITED)
    got = signup(person("pending", sent=LONG_AGO), member("pending"))
    assert (got.outcome, got.mail) == (Outcome.RESENT, True)
    assert got.subscriber == {"confirmation_sent_at": NOW}
    assert got.subscription is None  # already pending: left alone
    assert got.event == ("confirmation_resent", {"source": "web"})


@pytest.mark.parametrize(
    ("status", "outcome"), [("active", Outcome.PENDING_SERIES), ("pending", Outcome.RESENT)]
)
@pytest.mark.parametrize("current", [None, member("unsubscribed"), member("stopped")])
def test_another_series_opens_pending_and_mail_is_still_rate_limited(
    status: str, outcome: str, current: Membership | None
) -> None:
    got = signup(person(status), current)
    assert (got.outcome, got.mail, got.subscriber) == (outcome, False, {})
    assert got.subscription == {"status": "pending"}
    assert got.event == ("signup", {"source": "web"})
    assert signup(person(status, sent=None), current).mail is True


def test_unsubscribed_restarts_pending_and_keeps_the_name() -> None:
    known = person("unsubscribed", sent=LONG_AGO, confirmed_at=NOW - dt.timedelta(days=9))
    got = signup(known, member("unsubscribed"))
    assert (got.outcome, got.mail) == (Outcome.RESTARTED, True)
    assert got.subscriber == {
        "status": "pending",
        "confirmed_at": None,
        "confirmation_sent_at": NOW,
    }
    assert got.subscription == {"status": "pending"}
    assert got.event == ("signup", {"source": "web", "restart": True})
    renamed = signup(person("unsubscribed"), member("pending"), name="Bea")
    # Consent given again gets its mail at once, even right after an earlier one.
    assert renamed.subscriber == {"status": "pending", "name": "Bea", "confirmation_sent_at": NOW}
    assert renamed.subscription == {}  # the subscription exists and is pending already


# --- joining: an operator vouches for consent -------------------------------------------


def add(known: Person, current: Membership | None = None, mode: str = "broadcast"):
    return lifecycle.join(Join("cli", confirmed=True), mode, NOW, known, current)


@pytest.mark.parametrize("status", ["unsubscribed", "complained"])
def test_operator_cannot_override_withdrawn_consent(status: str) -> None:
    with pytest.raises(Conflict, match=f"subscriber 7 is {status}"):
        add(person(status))


@pytest.mark.parametrize("sub_status", ["active", "paused", "finished", "unsubscribed"])
def test_operator_add_of_an_active_member_changes_nothing(sub_status: str) -> None:
    assert add(person("active"), member(sub_status)).outcome == Outcome.ALREADY_ACTIVE


def test_operator_add_activates_a_pending_or_bounced_address() -> None:
    got = add(person("pending"), member("pending", mode="serial"), mode="serial")
    assert (got.outcome, got.mail) == (Outcome.ADDED, False)
    assert got.subscriber == {"status": "active", "confirmed_at": NOW}
    assert got.subscription == {"status": "active", "next_due_at": NOW}
    assert got.event == ("added", {"source": "cli", "confirmed": True})
    earlier = NOW - dt.timedelta(days=3)
    bounced = add(person("bounced", confirmed_at=earlier), member("stopped"))
    assert bounced.subscriber == {"status": "active"}  # first confirmation time kept
    assert bounced.subscription == {"status": "active"}


# --- confirm ----------------------------------------------------------------------------


def test_confirm_activates_person_and_subscription() -> None:
    got = lifecycle.confirming(person("pending"), [member("pending", mode="serial")], NOW)
    assert got.subscriber == {"status": "active", "confirmed_at": NOW}
    assert got.subscriptions == ({"status": "active", "next_due_at": NOW},)
    assert got.event == ("confirmed", {}) and got.changed


def test_confirm_twice_changes_nothing_the_second_time() -> None:
    got = lifecycle.confirming(person("active"), [member("active")], NOW)
    assert (got.subscriber, got.subscriptions, got.changed) == ({}, ({},), False)


def test_confirm_a_second_series_keeps_the_active_address() -> None:
    got = lifecycle.confirming(person("active"), [member("pending")], NOW)
    assert (got.subscriber, got.subscriptions) == ({}, ({"status": "active"},))


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_a_stale_confirm_link_undoes_nothing(status: str) -> None:
    assert not lifecycle.confirming(person(status), [member("pending")], NOW).changed
    assert not lifecycle.confirming(person(status), [], NOW).changed


@pytest.mark.parametrize("known", [None, Person(7, "unsubscribed", erased=True)])
def test_confirm_link_for_someone_gone_is_invalid(known: Person | None) -> None:
    with pytest.raises(InvalidToken):
        lifecycle.confirming(known, [], NOW)


def test_confirm_link_for_a_series_left_behind_is_invalid() -> None:
    with pytest.raises(InvalidToken):
        lifecycle.confirming(person("pending"), [], NOW)


# --- unsubscribe ------------------------------------------------------------------------


def test_leaving_one_series_keeps_the_address_while_another_is_live() -> None:
    subs = [member("active", series_id=1), member("pending", series_id=2)]
    got = lifecycle.unsubscribing(person("active"), subs, 1, "link", NOW)
    assert (got.subscriber, got.subscriptions) == ({}, ({"status": "unsubscribed"}, {}))
    assert got.event == ("unsubscribed", {"via": "link"})


def test_leaving_the_last_live_series_unsubscribes_the_address() -> None:
    subs = [member("paused", series_id=1), member("finished", series_id=2)]
    got = lifecycle.unsubscribing(person("active"), subs, 1, "manage", NOW)
    assert got.subscriber == {"status": "unsubscribed", "unsubscribed_at": NOW}
    assert got.subscriptions == ({"status": "unsubscribed"}, {})


def test_leaving_everything_and_leaving_twice() -> None:
    subs = [member("active", series_id=1), member("pending", series_id=2)]
    got = lifecycle.unsubscribing(person("pending"), subs, None, "cli", NOW)
    assert got.subscriptions == ({"status": "unsubscribed"},) * 2
    out = [member("unsubscribed", series_id=1)]
    assert not lifecycle.unsubscribing(person("unsubscribed"), out, 1, "link", NOW).changed
    # A suppressed address stays suppressed: only its subscriptions could still change.
    assert not lifecycle.unsubscribing(person("bounced"), [], None, "cli", NOW).changed


# --- pause and resume -------------------------------------------------------------------


def test_pause_is_idempotent_and_needs_an_active_subscription() -> None:
    got = lifecycle.pausing(member("active"))
    assert (got.subscriptions, got.event) == (({"status": "paused"},), ("paused", {}))
    assert not lifecycle.pausing(member("paused")).changed
    with pytest.raises(Conflict, match="only an active subscription can be paused"):
        lifecycle.pausing(member("pending"))


def test_resume_makes_an_overdue_serial_part_due_now() -> None:
    overdue = member("paused", mode="serial", next_due_at=NOW - dt.timedelta(days=30))
    got = lifecycle.resuming(overdue, NOW)
    assert (got.subscriptions, got.event) == (
        ({"status": "active", "next_due_at": NOW},),
        ("resumed", {}),
    )
    later = member("paused", mode="serial", next_due_at=NOW + dt.timedelta(days=1))
    assert lifecycle.resuming(later, NOW).subscriptions == ({"status": "active"},)
    assert not lifecycle.resuming(member("active"), NOW).changed
    with pytest.raises(Conflict, match="only a paused subscription can be resumed"):
        lifecycle.resuming(member("finished"), NOW)


def test_activation_needs_the_series_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        lifecycle.resuming(member("paused", mode=None), NOW)


def test_manage_page_buttons_follow_the_same_rules() -> None:
    assert [lifecycle.can_pause(s) for s in ("active", "paused")] == [True, False]
    assert [lifecycle.can_resume(s) for s in ("active", "paused")] == [False, True]
    assert [lifecycle.can_leave(s) for s in ("pending", "finished")] == [True, False]


# --- suppression ------------------------------------------------------------------------


def test_a_bounce_stops_every_live_subscription() -> None:
    subs = [member("active"), member("finished"), member("pending"), member("paused")]
    got = lifecycle.suppressing(person("active"), subs, "bounced", "550 5.1.1 " + "x" * 600)
    assert got.subscriber == {"status": "bounced"}
    stopped = {"status": "stopped"}
    assert got.subscriptions == (stopped, {}, stopped, stopped)
    assert got.event is not None and got.event[0] == "bounced"
    assert len(got.event[1]["reason"]) == 500


@pytest.mark.parametrize(
    ("known", "status"),
    [
        (person("bounced"), "bounced"),
        (person("complained"), "bounced"),  # a complaint outranks a later bounce
        (person("complained"), "complained"),
        (Person(7, "unsubscribed", erased=True), "complained"),
    ],
)
def test_suppression_that_changes_nothing(known: Person, status: str) -> None:
    assert not lifecycle.suppressing(known, [member("stopped")], status, "again").changed


def test_a_complaint_outranks_a_bounce() -> None:
    got = lifecycle.suppressing(person("bounced"), [], "complained", "fbl")
    assert got.subscriber == {"status": "complained"}


def test_resend_interval_boundary() -> None:
    assert lifecycle.confirmation_due(person("pending", sent=None), NOW)
    assert not lifecycle.confirmation_due(person("pending", sent=RECENT), NOW)
    assert lifecycle.confirmation_due(person("pending", sent=LONG_AGO), NOW)


# --- the confirmation mail's outbox row decides a repeat signup ----------------------------


def mailed(status: str, sent_at: dt.datetime | None = None, **kw: object) -> Person:
    """A pending person whose newest confirmation row is in `status`."""
    return person(kw.pop("state", "pending"), last_mail=LastMail(status, sent_at), **kw)


@pytest.mark.parametrize("status", ["pending", "queued", "sending"])
def test_no_second_mail_while_one_is_on_its_way(status: str) -> None:
    # Even long after it was asked for (an SMTP outage, a paused sender): a new row would
    # only be a duplicate of the one that goes out when the server takes mail again.
    got = signup(mailed(status, sent=LONG_AGO - dt.timedelta(hours=5)), member("pending"))
    assert got == lifecycle.Joining(Outcome.RATE_LIMITED)
    restarted = signup(mailed(status, state="unsubscribed"), member("unsubscribed"))
    assert (restarted.outcome, restarted.mail) == (Outcome.RESTARTED, False)


@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_a_mail_that_never_arrived_is_sent_again_at_once(status: str) -> None:
    got = signup(mailed(status, sent=RECENT), member("pending"))
    assert (got.outcome, got.mail) == (Outcome.RESENT, True)
    assert got.subscriber == {"confirmation_sent_at": NOW}


def test_the_window_counts_from_when_the_last_mail_went_out() -> None:
    # Asked for long ago, but delivered only just now (it waited out an outage).
    just_sent = mailed("sent", NOW - dt.timedelta(minutes=1), sent=LONG_AGO)
    assert signup(just_sent, member("pending")) == lifecycle.Joining(Outcome.RATE_LIMITED)
    long_sent = mailed("sent", LONG_AGO, sent=RECENT)
    assert signup(long_sent, member("pending")).mail is True


def test_an_unsubscribed_address_gets_its_mail_at_once() -> None:
    got = signup(mailed("sent", RECENT, state="unsubscribed"), member("unsubscribed"))
    assert (got.outcome, got.mail) == (Outcome.RESTARTED, True)
    assert got.subscriber["confirmation_sent_at"] == NOW


def test_suppressed_and_active_addresses_ignore_the_mail_row() -> None:
    failed = LastMail("failed")
    bounced = person("bounced", last_mail=failed)
    assert signup(bounced, member("stopped")).outcome == Outcome.SUPPRESSED
    active = person("active", last_mail=failed)
    assert signup(active, member("active")).outcome == Outcome.ALREADY_ACTIVE
