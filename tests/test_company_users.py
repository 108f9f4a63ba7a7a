"""A company admin manages the company's accounts; the last admin is protected."""

import re

import pytest
import sqlalchemy as sa
from limits import parse_many

from portal import ratelimit
from portal.accounts import tokens
from portal.accounts.models import Account, AccountToken, CompanyRole, TokenPurpose
from portal.audit import AuditEvent
from portal.db import db
from tests.factories import PASSWORD, csrf_token, in_english, login, login_as, post


def _events(action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_admin_sees_the_company_users_and_not_others(client, make_account, make_company):
    admin = make_account("admin")
    colleague = make_account("member", company=admin.company, email="colleague@example.com")
    outsider = make_account("member", email="outsider@example.com")
    login_as(client, admin)
    page = client.get("/company/users").get_data(as_text=True)
    assert colleague.email in page
    assert outsider.email not in page


def test_invitation_mail_lets_the_invitee_choose_a_password(app, client, make_account, mailbox):
    admin = make_account("admin")
    login_as(client, admin)
    response = post(
        client,
        "/company/users",
        {"email": "New.Person@Example.com", "name": "Ny Person", "role": "member"},
        page="/company/users",
    )
    assert response.status_code == 302
    [mail] = mailbox.to("new.person@example.com")

    invitee = app.test_client()
    assert invitee.get(mail.path()).status_code == 200
    from tests.factories import csrf_token

    token = csrf_token(invitee, mail.path())
    password = "a brand new passphrase"
    response = invitee.post(
        mail.path(), data={"password": password, "confirm": password, "csrf_token": token}
    )
    assert response.status_code == 302
    assert invitee.get("/").status_code == 200
    assert _events("invitation.accepted")

    second_use = app.test_client().get(mail.path())
    assert second_use.status_code == 410


def test_inviting_an_address_of_another_company_reveals_nothing(client, make_account, mailbox):
    admin = make_account("admin")
    make_account("member", email="taken@example.com")
    login_as(client, admin)
    response = post(
        client,
        "/company/users",
        {"email": "taken@example.com", "name": "", "role": "member"},
        page="/company/users",
    )
    assert response.status_code == 302
    assert mailbox.to("taken@example.com") == []
    assert _events("invitation.refused")


def test_an_invitation_refused_for_another_companys_address_looks_like_any_invitation(
    app, client, make_account, mailbox
):
    """The finding: "sent" on the page, but `invitation.refused` in the company's activity log
    at that moment. The answer is the same as for any address, and the log the company reads
    shows nothing of the refusal; staff still see it."""
    admin = make_account("admin")
    make_account("member", email="taken@example.com")
    login_as(client, admin)
    answers = []
    for email in ("taken@example.com", "free@example.com"):
        response = post(
            client,
            "/company/users",
            {"email": email, "name": "", "role": "member"},
            page="/company/users",
        )
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        notice = re.search(r'<div class="notice[^"]*"[^>]*>(.*?)</div>', page, re.S).group(1)
        answers.append((response.status_code, notice.replace(email, "ADDRESS")))
    assert answers[0] == answers[1]
    in_english(client)
    log = client.get("/company/activity").get_data(as_text=True)
    assert "cannot be invited" not in log
    assert f"{admin.display_name} invited free@example.com." in log  # the log itself is shown
    export = client.get("/company/activity/export").get_data(as_text=True)
    assert "invited" in export and "cannot be invited" not in export
    (refused,) = _events("invitation.refused")
    assert refused.company_id == admin.company_id
    staff = make_account("support")
    staff_client = app.test_client()
    login_as(staff_client, staff)
    in_english(staff_client)
    for path in (
        f"/staff/companies/{admin.company_id}",
        f"/staff/companies/{admin.company_id}/activity",
    ):
        assert "cannot be invited" in staff_client.get(path).get_data(as_text=True)


def test_inviting_a_colleague_twice_is_a_form_error(client, make_account):
    admin = make_account("admin")
    make_account("member", company=admin.company, email="twice@example.com")
    login_as(client, admin)
    response = post(
        client,
        "/company/users",
        {"email": "twice@example.com", "name": "X", "role": "member"},
        page="/company/users",
    )
    assert response.status_code == 200
    assert "twice@example.com" in response.get_data(as_text=True)
    assert 'class="error-message"' in response.get_data(as_text=True)


def test_invalid_invitation_input_keeps_what_was_typed(client, make_account):
    admin = make_account("admin")
    login_as(client, admin)
    response = post(
        client,
        "/company/users",
        {"email": "not an address", "name": "Typed Name", "role": "member"},
        page="/company/users",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Typed Name"' in page
    assert 'value="not an address"' in page


def test_resend_replaces_the_old_link_and_cancel_removes_the_invitee(client, make_account, mailbox):
    admin = make_account("admin")
    login_as(client, admin)
    post(
        client,
        "/company/users",
        {"email": "inv@example.com", "role": "member"},
        page="/company/users",
    )
    invitee = db.session.scalar(sa.select(Account).where(Account.email == "inv@example.com"))
    [first] = mailbox.to("inv@example.com")

    post(client, f"/company/users/{invitee.id}/invitation/resend", page="/company/users")
    assert len(mailbox.to("inv@example.com")) == 2
    assert client.get(first.path()).status_code == 410

    invitee_id = invitee.id
    post(client, f"/company/users/{invitee_id}/invitation/cancel", page="/company/users")
    db.session.expire_all()
    assert db.session.get(Account, invitee_id) is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AccountToken)
            .where(AccountToken.account_id == invitee_id)
        )
        == 0
    )


def test_admin_changes_a_role(client, make_account):
    admin = make_account("admin")
    member = make_account("member", company=admin.company)
    login_as(client, admin)
    post(client, f"/company/users/{member.id}/role", {"role": "admin"}, page="/company/users")
    db.session.expire_all()
    assert db.session.get(Account, member.id).company_role == CompanyRole.ADMIN
    assert _events("account.role_changed")


def test_the_last_admin_cannot_be_demoted(client, make_account):
    admin = make_account("admin")
    other_admin = make_account("admin", company=admin.company)
    login_as(client, admin)
    post(client, f"/company/users/{other_admin.id}/role", {"role": "member"}, page="/company/users")
    db.session.expire_all()
    assert db.session.get(Account, other_admin.id).company_role == CompanyRole.MEMBER

    other_admin_browser = client.application.test_client()
    response = post(
        client, f"/company/users/{admin.id}/role", {"role": "member"}, page="/company/users"
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Account, admin.id).company_role == CompanyRole.ADMIN
    assert other_admin_browser is not None


def test_the_last_admin_cannot_be_removed_by_another_admin_who_is_deactivated(client, make_account):
    first = make_account("admin")
    second = make_account("admin", company=first.company)
    login_as(client, first)
    post(client, f"/company/users/{second.id}/deactivate", page="/company/users")
    db.session.expire_all()
    assert db.session.get(Account, second.id).is_active is False
    # `first` is now the only active admin; nobody can remove or deactivate them.
    assert db.session.get(Account, first.id).is_active is True


def test_deactivation_signs_the_person_out_and_reactivation_lets_them_in(app, client, make_account):
    admin = make_account("admin")
    member = make_account("member", company=admin.company)
    member_browser = app.test_client()
    login_as(member_browser, member)
    login_as(client, admin)

    post(client, f"/company/users/{member.id}/deactivate", page="/company/users")
    assert member_browser.get("/").status_code == 302
    assert login(member_browser, member).status_code == 200

    post(client, f"/company/users/{member.id}/reactivate", page="/company/users")
    assert login(member_browser, member, PASSWORD).status_code == 302


def test_removal_needs_confirmation_and_deletes_the_account(client, make_account):
    admin = make_account("admin")
    member = make_account("member", company=admin.company)
    login_as(client, admin)
    confirm = client.get(f"/company/users/{member.id}/remove")
    assert confirm.status_code == 200
    assert member.email in confirm.get_data(as_text=True)
    assert db.session.get(Account, member.id) is not None

    member_id, member_email = member.id, member.email
    post(client, f"/company/users/{member_id}/remove", page=f"/company/users/{member_id}/remove")
    db.session.expire_all()
    assert db.session.get(Account, member_id) is None
    [event] = _events("account.removed")
    assert member_email not in (event.subject_label or "")


def test_an_admin_cannot_touch_another_companys_account(client, make_account):
    admin = make_account("admin")
    outsider = make_account("member")
    login_as(client, admin)
    for path in (
        f"/company/users/{outsider.id}/deactivate",
        f"/company/users/{outsider.id}/remove",
        f"/company/users/{outsider.id}/role",
    ):
        assert post(client, path, {"role": "admin"}, page="/company/users").status_code == 404
    assert client.get(f"/company/users/{outsider.id}/remove").status_code == 404
    db.session.expire_all()
    assert db.session.get(Account, outsider.id).is_active


def test_activity_shows_the_company_events_only(client, make_account):
    admin = make_account("admin")
    outsider = make_account("admin")
    login(client, outsider.email, "wrong password for the outsider")
    login_as(client, admin)
    in_english(client)
    page = client.get("/company/activity").get_data(as_text=True)
    assert f"{admin.name} signed in." in page
    assert "tried to sign in" not in page  # the outsider's failure belongs to another company


def _invite(client, email):
    post(
        client,
        "/company/users",
        {"email": email, "name": "", "role": "member"},
        page="/company/users",
    )
    return db.session.scalar(sa.select(Account).where(Account.email == email))


def _choose_password(app, path):
    invitee = app.test_client()
    token = csrf_token(invitee, "/login")
    password = "a brand new passphrase"
    return invitee.post(path, data={"password": password, "confirm": password, "csrf_token": token})


def test_an_invitation_link_fails_after_the_account_is_deactivated(
    app, client, make_account, mailbox
):
    admin = make_account("admin")
    login_as(client, admin)
    invitee = _invite(client, "soon.gone@example.com")
    [mail] = mailbox.to("soon.gone@example.com")
    post(client, f"/company/users/{invitee.id}/deactivate", page="/company/users")
    db.session.expire_all()
    assert app.test_client().get(mail.path()).status_code == 410
    assert _choose_password(app, mail.path()).status_code == 410
    assert db.session.get(Account, invitee.id).password_hash is None
    # Reactivating does not bring the old link back: a new invitation is needed.
    post(client, f"/company/users/{invitee.id}/reactivate", page="/company/users")
    assert app.test_client().get(mail.path()).status_code == 410


def test_deactivation_cancels_every_open_link_of_the_account(client, make_account):
    admin = make_account("admin")
    member = make_account("member", company=admin.company)
    for purpose in TokenPurpose:
        tokens.issue(member, purpose, payload={"email": "x@example.com"})
    db.session.flush()
    login_as(client, admin)
    post(client, f"/company/users/{member.id}/deactivate", page="/company/users")
    db.session.expire_all()
    left = db.session.scalars(
        sa.select(AccountToken).where(
            AccountToken.account_id == member.id, AccountToken.cancelled_dt.is_(None)
        )
    ).all()
    assert [t.purpose for t in left] == []


def test_an_invitation_link_fails_after_the_account_is_removed(app, client, make_account, mailbox):
    admin = make_account("admin")
    login_as(client, admin)
    invitee = _invite(client, "removed.soon@example.com")
    [mail] = mailbox.to("removed.soon@example.com")
    invitee_id = invitee.id
    post(client, f"/company/users/{invitee_id}/remove", page="/company/users")
    db.session.expire_all()
    assert db.session.get(Account, invitee_id) is None
    assert app.test_client().get(mail.path()).status_code in (404, 410)
    assert _choose_password(app, mail.path()).status_code in (404, 410)


# --- invitations cannot be used to mail an address over and over -----------------------------


def _limit(limits: str) -> int:
    return min(item.amount for item in parse_many(limits))


@pytest.mark.english
def test_five_resends_in_a_second_send_no_more_than_the_limit(client, make_account, mailbox):
    """The finding: five resends to one address within a second all went out."""
    admin = make_account("admin")
    login_as(client, admin)
    invitee = _invite(client, "resent@example.com")
    for _ in range(5):
        post(client, f"/company/users/{invitee.id}/invitation/resend", page="/company/users")
    sent = mailbox.to("resent@example.com")
    assert len(sent) == _limit(ratelimit.MAILS_TO_ONE_ADDRESS)
    page = client.get("/company/users").get_data(as_text=True)
    assert "Too many mails" in page


@pytest.mark.english
def test_invitations_of_one_company_are_limited(client, make_account, mailbox):
    admin = make_account("admin")
    login_as(client, admin)
    limit = _limit(ratelimit.INVITATIONS_PER_COMPANY)
    for n in range(limit):
        _invite(client, f"invitee{n}@invited.example")
    assert all(mailbox.to(f"invitee{n}@invited.example") for n in range(limit))
    response = post(
        client,
        "/company/users",
        {"email": "one.more@example.com", "name": "", "role": "member"},
        page="/company/users",
    )
    assert response.status_code == 200
    assert "too many invitations" in response.get_data(as_text=True)
    assert mailbox.to("one.more@example.com") == []
    assert not db.session.scalars(
        sa.select(Account).where(Account.email == "one.more@example.com")
    ).all()
