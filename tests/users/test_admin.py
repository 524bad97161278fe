"""Account administration rules (`newsletter.users.admin`) on both databases: what each
change ends at once, the last-admin guard, and the audit entry each one writes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from newsletter.core.db.models import Event
from newsletter.core.db.session import transaction
from newsletter.core.errors import Conflict, NotFound
from newsletter.users import admin, queries, sessions
from newsletter.users import service as users
from newsletter.users.audit import Actor, Filter, oldest
from newsletter.users.models import User, WebSession
from newsletter.users.service import WeakPassword
from tests.support.factories import PASSWORD, api_token, make_account

pytestmark = pytest.mark.usefixtures("db", "cheap_password_hashing")
CLI = Actor.cli()


def _start_session(user_id: int) -> str:
    with transaction() as session:
        _, token = sessions.start(session, session.get(User, user_id), "pytest")
    return token


def _live(token: str) -> bool:
    with transaction() as session:
        return sessions.resolve(session, token) is not None


def _token_works(token: str) -> bool:
    with transaction() as session:
        return users.user_for_token(session, token) is not None


def test_disable_ends_sessions_and_stops_tokens_at_once():
    editor = make_account("editor")
    browser, token = _start_session(editor.id), api_token(editor)
    with transaction() as session:
        assert admin.disable(session, CLI, editor.id) == 1
    assert not _live(browser) and not _token_works(token)
    with transaction() as session:
        assert admin.disable(session, CLI, editor.id) == 0  # already disabled: a no-op
        admin.enable(session, CLI, editor.id)
    assert _token_works(token)  # tokens were stopped, not revoked
    assert not _live(browser)  # sessions stay ended: sign in again
    with transaction() as session:
        assert users.authenticate(session, editor.email, PASSWORD) is not None


def test_the_last_enabled_admin_cannot_be_disabled():
    boss = make_account("admin")
    second = make_account("admin", "second@example.com")
    with transaction() as session:
        admin.disable(session, CLI, second.id)
    with pytest.raises(Conflict, match="last enabled admin"), transaction() as session:
        admin.disable(session, CLI, boss.id)
    with transaction() as session:
        admin.enable(session, CLI, second.id)
        admin.disable(session, CLI, boss.id)  # now there is another
        assert session.get(User, boss.id).disabled_at is not None


def test_two_admins_disabling_each_other_at_once_leave_one_enabled():
    """On PostgreSQL the enabled admins are read FOR UPDATE; SQLite has one writer."""
    a, b = make_account("admin", "a@example.com"), make_account("admin", "b@example.com")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def disable(target: int) -> None:
        try:
            with transaction() as session:
                barrier.wait(timeout=5)
                admin.disable(session, CLI, target)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")
        except Exception as exc:  # SQLite: "database is locked" is the other way to lose
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=disable, args=(t,)) for t in (a.id, b.id)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes.count("ok") == 1
    with transaction() as session:
        enabled = session.scalars(select(User.id).where(User.disabled_at.is_(None))).all()
    assert len(enabled) == 1


def test_a_new_password_ends_every_session_but_the_one_kept():
    editor = make_account("editor")
    first, second = _start_session(editor.id), _start_session(editor.id)
    with transaction() as session:
        keep = sessions.resolve(session, first)[0].id
        ended = admin.set_password(session, CLI, editor.id, "a new password!", keep_session=keep)
    assert ended == 1 and _live(first) and not _live(second)
    with transaction() as session:
        assert users.authenticate(session, editor.email, "a new password!") is not None
        with pytest.raises(WeakPassword):
            admin.set_password(session, CLI, editor.id, "short")


def test_changing_your_own_password_needs_the_current_one():
    editor = make_account("editor")
    me = Actor(editor.id, "editor", "session")
    with pytest.raises(admin.WrongPassword), transaction() as session:
        admin.change_own_password(session, me, "not my password", "a new password!", None)
    with transaction() as session:
        admin.change_own_password(session, me, PASSWORD, "a new password!", None)
        assert users.authenticate(session, editor.email, "a new password!") is not None


def test_logout_everywhere_and_ending_one_session():
    editor = make_account("editor")
    operator = make_account("operator")
    one, two = _start_session(editor.id), _start_session(editor.id)
    theirs = _start_session(operator.id)
    with transaction() as session:
        two_id = sessions.resolve(session, two)[0].id
        with pytest.raises(NotFound):
            admin.end_session(session, CLI, two_id, owner_id=operator.id)
        admin.end_session(session, CLI, two_id, owner_id=editor.id)
    assert _live(one) and not _live(two)
    with transaction() as session:
        assert admin.logout_everywhere(session, CLI, editor.id) == 1
        assert queries.live_sessions(session, editor.id) == []
    assert _live(theirs)


def test_revoking_a_token_is_for_good():
    editor = make_account("editor")
    token = api_token(editor)
    with transaction() as session:
        (row,) = queries.tokens_of(session, editor.id)
        with pytest.raises(NotFound):
            admin.revoke_token(session, CLI, row.id, owner_id=editor.id + 1)
        admin.revoke_token(session, CLI, row.id)
        admin.revoke_token(session, CLI, row.id)  # twice is fine, recorded once
        with pytest.raises(NotFound):
            admin.revoke_token(session, CLI, row.id + 100)
    assert not _token_works(token)
    with transaction() as session:
        (row,) = queries.tokens_of(session, editor.id)
        assert row.revoked_at is not None
        assert len(oldest(session, Filter(action="token.revoke"))) == 1


def test_every_change_is_audited_without_secrets():
    boss = make_account("admin")
    editor = make_account("editor")
    token = api_token(editor)
    me = Actor(boss.id, "admin", "session", credential_id=7)
    with transaction() as session:
        users.create_user(session, "new@example.com", "a long enough password", "editor", me)
        admin.disable(session, me, editor.id)
        admin.enable(session, me, editor.id)
        admin.set_password(session, me, editor.id, "another password!")
        admin.logout_everywhere(session, me, editor.id)
        entries = oldest(session, Filter(actor_id=boss.id))
        raw = str([e.data for e in session.scalars(select(Event))])
    assert [e.action for e in entries] == [
        "user.create",
        "user.disable",
        "user.enable",
        "user.password",
        "user.logout_all",
    ]
    assert {(e.actor_role, e.auth, e.credential_id) for e in entries} == {("admin", "session", 7)}
    assert entries[1].target == {"user_id": editor.id}
    for secret in (token, "another password!", "a long enough password", "new@example.com"):
        assert secret not in raw


def test_sessions_ended_a_month_ago_are_dropped_at_the_next_sign_in(clock):
    editor = make_account("editor")
    old = _start_session(editor.id)
    with transaction() as session:
        admin.end_session(session, CLI, sessions.resolve(session, old)[0].id)
    clock.advance(days=31)
    recent = _start_session(editor.id)  # drops `old`
    with transaction() as session:
        admin.end_session(session, CLI, sessions.resolve(session, recent)[0].id)
    _start_session(editor.id)
    with transaction() as session:
        left = session.scalars(select(WebSession).order_by(WebSession.id)).all()
    assert len(left) == 2 and left[0].revoked_at == clock()  # `recent`, ended just now
