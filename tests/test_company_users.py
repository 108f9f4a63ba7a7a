"""A company admin manages the company's accounts; the last admin is protected."""

import sqlalchemy as sa

from portal.accounts.models import Account, AccountToken, CompanyRole
from portal.audit import AuditEvent
from portal.db import db
from tests.factories import PASSWORD, in_english, login, login_as, post


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
