"""Password reset by mailed link, and the signed-in password change."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts import passwords
from portal.audit import AuditEvent
from portal.db import db
from tests import factories
from tests.factories import PASSWORD, login_as, request_password_reset, set_new_password

pytestmark = pytest.mark.english

NEW_PASSWORD = "a brand new sentence of words 7"


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _reset_link(client, mailbox, account) -> str:
    assert request_password_reset(client, account.email).status_code == 200
    mails = [m for m in mailbox.to(account.email) if "/password/reset/" in m.text]
    assert len(mails) == 1
    return mails[0].path()


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_reset_mail_arrives_and_its_link_sets_the_new_password(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    assert path.startswith("/password/reset/")

    page = client.get(path)
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"

    response = set_new_password(client, path, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert login_as(app.test_client(), account, NEW_PASSWORD).status_code == 302
    assert login_as(app.test_client(), account, PASSWORD).status_code == 200


def test_reset_link_works_only_once(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    assert set_new_password(client, path, NEW_PASSWORD).status_code == 302

    again = client.get(path)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_reset_link_expires_after_one_hour(app, make_account, mailbox, frozen_clock):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)

    frozen_clock.advance(timedelta(minutes=59))
    assert client.get(path).status_code == 200
    frozen_clock.advance(timedelta(minutes=1))
    expired = client.get(path)
    assert expired.status_code == 410
    assert "has expired" in expired.get_data(as_text=True)
    assert set_new_password(client, path, NEW_PASSWORD).status_code == 410


def test_unknown_reset_link_says_so(client):
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 404
    assert "not valid" in response.get_data(as_text=True)


def test_a_newer_reset_request_cancels_the_earlier_link(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    first = _reset_link(client, mailbox, account)
    mailbox.messages.clear()
    second = _reset_link(client, mailbox, account)

    assert first != second
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200


def test_reset_signs_out_every_session_of_the_account(app, make_account, mailbox):
    account = make_account("member")
    office, laptop = app.test_client(), app.test_client()
    assert login_as(office, account).status_code == 302
    assert login_as(laptop, account).status_code == 302
    assert _signed_in(office) and _signed_in(laptop)

    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    assert set_new_password(client, path, NEW_PASSWORD).status_code == 302

    assert not _signed_in(office)
    assert not _signed_in(laptop)
    completed = _events("password_reset.completed")
    assert [event.subject_id for event in completed] == [account.id]
    assert completed[0].details == {"sessions_ended": 2}


def test_forgot_answers_the_same_for_known_and_unknown_addresses(app, make_account, mailbox):
    account = make_account("member", email="known.person@example.com")
    inactive = make_account("member", email="gone.person@example.com")
    inactive.is_active = False
    db.session.commit()

    answers = {}
    for address in (account.email, "nobody.here@example.com", inactive.email):
        response = request_password_reset(app.test_client(), address)
        answers[address] = (response.status_code, response.get_data(as_text=True))

    statuses = {status for status, _ in answers.values()}
    pages = {page.replace(address, "ADDRESS") for address, (_, page) in answers.items()}
    pages = {_without_csrf(page) for page in pages}
    assert statuses == {200}
    assert len(pages) == 1
    assert [mail.recipients for mail in mailbox.messages] == [[account.email]]


def _without_csrf(page: str) -> str:
    return factories.CSRF_PATTERN.sub("", page)


def test_forgot_matches_the_address_case_insensitively(app, make_account, mailbox):
    account = make_account("member", email="mixed.case@example.com")
    request_password_reset(app.test_client(), "  Mixed.Case@EXAMPLE.com ")
    assert len(mailbox.to(account.email)) == 1


def test_forgot_with_a_malformed_address_shows_a_form_error(client, mailbox):
    response = request_password_reset(client, "not an address")
    assert response.status_code == 200
    assert "Enter an email address like" in response.get_data(as_text=True)
    assert mailbox.messages == []


def test_reset_request_is_audited_with_subject_only_when_the_account_exists(app, make_account):
    account = make_account("member")
    request_password_reset(app.test_client(), account.email)
    request_password_reset(app.test_client(), "nobody.here@example.com")

    known, unknown = _events("password_reset.requested")
    assert (known.subject_type, known.subject_id) == ("Account", account.id)
    assert known.details == {"email_known": True, "link_sent": True}
    assert (unknown.subject_type, unknown.subject_id) == (None, None)
    assert unknown.details == {"email_known": False, "link_sent": False}
    assert "nobody.here" not in str(unknown.details) + str(unknown.subject_label)


def test_reset_refuses_a_common_password_and_keeps_the_link(app, make_account, mailbox):
    assert "password1234" in passwords.common_passwords()
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)

    response = set_new_password(client, path, "password1234")
    assert response.status_code == 200
    assert "among the most common" in response.get_data(as_text=True)
    assert login_as(app.test_client(), account, PASSWORD).status_code == 302
    assert client.get(path).status_code == 200


def test_reset_refuses_a_short_password(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)

    response = set_new_password(client, path, "short pass")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "at least 12 characters" in page
    assert 'aria-invalid="true"' in page


def test_reset_refuses_a_repeat_that_differs(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)

    response = set_new_password(client, path, NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert response.status_code == 200
    assert "not the same" in response.get_data(as_text=True)


def test_reset_tells_the_account_that_the_password_changed(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    mailbox.messages.clear()

    set_new_password(client, path, NEW_PASSWORD)
    (notice,) = mailbox.to(account.email)
    assert "lösenord" in notice.subject.lower()  # in the account's language, Swedish
    assert account.email in notice.text
    assert NEW_PASSWORD not in notice.text


def test_no_reset_link_for_a_deactivated_account_and_old_links_stop(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    account.is_active = False
    db.session.commit()

    assert client.get(path).status_code == 404
    assert set_new_password(client, path, NEW_PASSWORD).status_code == 404


def test_audit_of_reset_holds_no_password_or_token(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    path = _reset_link(client, mailbox, account)
    set_new_password(client, path, NEW_PASSWORD)
    token = path.rsplit("/", 1)[1]

    for event in db.session.scalars(sa.select(AuditEvent)):
        text = f"{event.details} {event.reason} {event.subject_label}"
        assert token not in text and NEW_PASSWORD not in text


# --- change password while signed in -------------------------------------------------------


def _change_password(client, current: str, new: str, confirm: str | None = None):
    token = factories.csrf_token(client, "/account/password")
    data = {
        "current_password": current,
        "password": new,
        "confirm": new if confirm is None else confirm,
        "csrf_token": token,
    }
    return client.post("/account/password", data=data)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, make_account, mailbox):
    account = make_account("member")
    here, elsewhere = app.test_client(), app.test_client()
    assert login_as(here, account).status_code == 302
    assert login_as(elsewhere, account).status_code == 302

    response = _change_password(here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302

    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    (event,) = _events("password.changed")
    assert event.subject_id == account.id and event.outcome == "success"
    assert event.details == {"sessions_ended": 1}
    assert login_as(app.test_client(), account, NEW_PASSWORD).status_code == 302
    assert len(mailbox.to(account.email)) == 1


def test_password_change_needs_the_right_current_password(app, make_account):
    account = make_account("member")
    client = app.test_client()
    login_as(client, account)

    response = _change_password(client, "not my password at all", NEW_PASSWORD)
    assert response.status_code == 200
    assert "current password is wrong" in response.get_data(as_text=True)
    (event,) = _events("password.changed")
    assert event.outcome == "failure"
    assert login_as(app.test_client(), account, PASSWORD).status_code == 302


def test_password_change_refuses_a_common_password(app, make_account):
    account = make_account("member")
    client = app.test_client()
    login_as(client, account)

    response = _change_password(client, PASSWORD, "password1234")
    assert response.status_code == 200
    assert "among the most common" in response.get_data(as_text=True)
    assert _events("password.changed") == []


def test_password_change_makes_earlier_reset_links_useless(app, make_account, mailbox):
    account = make_account("member")
    path = _reset_link(app.test_client(), mailbox, account)
    client = app.test_client()
    login_as(client, account)

    assert _change_password(client, PASSWORD, NEW_PASSWORD).status_code == 302
    assert app.test_client().get(path).status_code == 410


def test_password_change_page_asks_for_the_current_password_first(app, make_account):
    account = make_account("member")
    client = app.test_client()
    login_as(client, account)

    page = client.get("/account/password").get_data(as_text=True)
    assert page.index('name="current_password"') < page.index('name="password"')
