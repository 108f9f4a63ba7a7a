"""Changing one's own email address: current password, link to the new address, old one told."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import AuditEvent
from portal.db import db
from tests import factories
from tests.factories import PASSWORD, login_as

pytestmark = pytest.mark.english

NEW_ADDRESS = "new.address@example.org"


def _ask_for_change(client, email: str, password: str = PASSWORD):
    token = factories.csrf_token(client, "/account/email")
    return client.post(
        "/account/email",
        data={"email": email, "current_password": password, "csrf_token": token},
    )


def _confirm(client, path: str):
    token = factories.csrf_token(client, path)
    return client.post(path, data={"csrf_token": token})


def _signed_in_client(app, account):
    client = app.test_client()
    assert login_as(client, account).status_code == 302
    return client


def _confirmation_path(mailbox, address: str) -> str:
    (mail,) = mailbox.to(address)
    path = mail.path()
    assert path.startswith("/account/email/confirm/")
    return path


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def test_change_is_pending_until_the_link_to_the_new_address_is_followed(
    app, make_account, mailbox
):
    account = make_account("member", email="old.address@example.com")
    client = _signed_in_client(app, account)

    response = _ask_for_change(client, NEW_ADDRESS)
    assert response.status_code == 302
    db.session.refresh(account)
    assert account.email == "old.address@example.com"
    assert mailbox.to("old.address@example.com") == []
    path = _confirmation_path(mailbox, NEW_ADDRESS)
    page = client.get("/account/email").get_data(as_text=True)
    assert "has been sent there" in page and NEW_ADDRESS in page

    # Followed in another browser, where nobody is signed in.
    other_browser = app.test_client()
    confirm_page = other_browser.get(path)
    assert confirm_page.status_code == 200
    db.session.refresh(account)
    assert account.email == "old.address@example.com"  # showing the page changes nothing

    response = _confirm(other_browser, path)
    assert response.status_code == 302
    db.session.refresh(account)
    assert account.email == NEW_ADDRESS
    assert factories.login(app.test_client(), NEW_ADDRESS).status_code == 302
    assert factories.login(app.test_client(), "old.address@example.com").status_code == 200


def test_the_old_address_is_told_when_the_change_takes_effect(app, make_account, mailbox):
    account = make_account("member", email="old.address@example.com")
    client = _signed_in_client(app, account)
    _ask_for_change(client, NEW_ADDRESS)
    path = _confirmation_path(mailbox, NEW_ADDRESS)

    _confirm(client, path)
    (notice,) = mailbox.to("old.address@example.com")
    assert "har ändrats" in notice.subject  # in the account's language, Swedish
    assert "old.address@example.com" in notice.text


def test_the_confirmation_link_works_once(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)
    _ask_for_change(client, NEW_ADDRESS)
    path = _confirmation_path(mailbox, NEW_ADDRESS)

    assert _confirm(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)


def test_the_confirmation_link_expires_after_a_day(app, make_account, mailbox, frozen_clock):
    account = make_account("member")
    client = _signed_in_client(app, account)
    _ask_for_change(client, NEW_ADDRESS)
    path = _confirmation_path(mailbox, NEW_ADDRESS)

    frozen_clock.advance(timedelta(hours=24))
    other_browser = app.test_client()
    assert other_browser.get(path).status_code == 410
    db.session.refresh(account)
    assert account.email != NEW_ADDRESS


def test_change_needs_the_current_password(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)

    response = _ask_for_change(client, NEW_ADDRESS, password="not my password at all")
    assert response.status_code == 200
    assert "current password is wrong" in response.get_data(as_text=True)
    assert mailbox.messages == []
    (event,) = _events("email_change.requested")
    assert event.outcome == "failure"


def _form_errors(response) -> list[str]:
    return re.findall(r'<li><a href="#(\w+)">(.*?)</a></li>', response.get_data(as_text=True))


def test_a_wrong_password_is_said_before_anything_about_the_address(app, make_account, mailbox):
    """The finding: "another account uses this address" even with a wrong password. Now a
    wrong password is all the page says, whoever the address belongs to."""
    account = make_account("member")
    make_account("member", email="taken@example.com")
    client = _signed_in_client(app, account)

    taken = _ask_for_change(client, "Taken@Example.COM", password="not my password at all")
    free = _ask_for_change(client, "free@example.com", password="not my password at all")
    assert taken.status_code == free.status_code == 200
    page = taken.get_data(as_text=True)
    assert "current password is wrong" in page
    assert "Another account" not in page
    assert _form_errors(taken) == _form_errors(free)
    assert 'value="Taken@Example.COM"' in page
    assert mailbox.messages == []


def test_an_address_of_another_account_gets_the_same_answer_as_any(app, make_account, mailbox):
    account = make_account("member")
    other = make_account("member", email="taken@example.com")
    client = _signed_in_client(app, account)

    taken = _ask_for_change(client, "Taken@Example.COM")
    taken_page = client.get("/account/email").get_data(as_text=True)
    free = _ask_for_change(client, NEW_ADDRESS)
    free_page = client.get("/account/email").get_data(as_text=True)
    assert taken.status_code == free.status_code == 302
    assert taken.headers["Location"] == free.headers["Location"]
    assert _notices(taken_page) == _notices(free_page.replace(NEW_ADDRESS, "taken@example.com"))
    # The owner of the address hears of it, with no link that could move it.
    (mail,) = mailbox.to("taken@example.com")
    assert "http" not in mail.text
    db.session.refresh(account)
    db.session.refresh(other)
    assert account.email != "taken@example.com" and other.email == "taken@example.com"
    # The refusal is for staff: the company's activity log shows nothing of it.
    (refused,) = _events("email_change.refused")
    assert refused.company_id == account.company_id
    admin = make_account("admin", company=account.company)
    log = _signed_in_client(app, admin).get("/company/activity").get_data(as_text=True)
    assert "has an account" not in log and "email_change.refused" not in log
    export = client.get("/account/export", headers={"Accept": "application/json"})
    assert export.status_code == 200
    assert "email_change.refused" not in export.get_data(as_text=True)


def _notices(page: str) -> list[str]:
    return re.findall(r'<div class="notice[^"]*"[^>]*>(.*?)</div>', page, re.S)


def test_the_own_current_address_is_refused(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)

    response = _ask_for_change(client, account.email.upper())
    assert response.status_code == 200
    assert "already the address of your account" in response.get_data(as_text=True)


def test_confirmation_is_refused_when_the_address_was_taken_meanwhile(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)
    _ask_for_change(client, NEW_ADDRESS)
    path = _confirmation_path(mailbox, NEW_ADDRESS)
    make_account("member", email=NEW_ADDRESS)
    db.session.commit()

    response = _confirm(client, path)
    assert response.status_code == 409
    db.session.refresh(account)
    assert account.email != NEW_ADDRESS


def test_a_newer_request_replaces_the_earlier_link(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)
    _ask_for_change(client, "first.choice@example.org")
    first = _confirmation_path(mailbox, "first.choice@example.org")
    _ask_for_change(client, NEW_ADDRESS)

    assert client.get(first).status_code == 410
    db.session.refresh(account)
    assert account.email != "first.choice@example.org"


def test_email_change_is_audited_without_addresses(app, make_account, mailbox):
    account = make_account("member", email="old.address@example.com")
    client = _signed_in_client(app, account)
    _ask_for_change(client, NEW_ADDRESS)
    _confirm(app.test_client(), _confirmation_path(mailbox, NEW_ADDRESS))

    (requested,) = _events("email_change.requested")
    (completed,) = _events("email_change.completed")
    for event in (requested, completed):
        assert event.subject_id == account.id
        assert "@" not in f"{event.details} {event.reason} {event.subject_label}"
    assert completed.actor_account_id == account.id


def test_invalid_address_shows_a_form_error(app, make_account, mailbox):
    account = make_account("member")
    client = _signed_in_client(app, account)

    response = _ask_for_change(client, "no at sign")
    assert response.status_code == 200
    assert "Enter an email address like" in response.get_data(as_text=True)
    assert mailbox.messages == []
