"""TOTP secrets are sealed at rest (portal.sealing, a key derived from the secret key), can be
re-sealed after a change of the secret key, and a staff admin can reset a lost second factor."""

import pyotp
import pytest
import sqlalchemy as sa

from portal import clock, sealing
from portal.accounts import twofactor
from portal.accounts.models import LoginSession, RecoveryCode
from portal.audit import AuditEvent
from portal.db import db
from tests.factories import (
    TOTP_SECRET,
    csrf_token,
    enable_twofactor,
    login,
    login_as,
    post,
)
from tests.test_cli import invoke, stderr_lines

pytestmark = pytest.mark.english


def stored(account) -> str:
    """The column's value as the database holds it, past the model's type."""
    return db.session.execute(
        sa.text("SELECT secret FROM twofactor_secrets WHERE account_id = :id"), {"id": account.id}
    ).scalar_one()


def store(account, value: str) -> None:
    db.session.execute(
        sa.text("UPDATE twofactor_secrets SET secret = :value WHERE account_id = :id"),
        {"value": value, "id": account.id},
    )


# --- sealed at rest --------------------------------------------------------------------------


def test_the_database_column_does_not_hold_the_base32_secret(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    enable_twofactor(account)
    raw = stored(account)
    assert TOTP_SECRET not in raw
    assert TOTP_SECRET.lower() not in raw.lower()
    assert sealing.unseal(raw, twofactor.SEALED_PURPOSE) == TOTP_SECRET
    assert twofactor.verify(account, pyotp.TOTP(TOTP_SECRET).at(clock.now()))


def test_a_secret_made_at_enrolment_is_sealed_too(client, make_account):
    account = make_account("member")
    login_as(client, account)
    client.get("/account/two-factor/enrol")
    record = twofactor.secret_record(account)
    assert len(record.secret) == 32
    assert record.secret not in stored(account)


def test_a_secret_sealed_under_another_key_fails_closed(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    enable_twofactor(account)
    store(account, sealing.seal(TOTP_SECRET, twofactor.SEALED_PURPOSE, secret=b"another key"))
    db.session.expire_all()
    assert not twofactor.verify(account, pyotp.TOTP(TOTP_SECRET).at(clock.now()))


# --- rotation after a change of the secret key -----------------------------------------------


def test_reencrypt_secrets_reseals_what_the_former_key_sealed(runner, make_account, frozen_clock):
    old, current = make_account("member"), make_account("member")
    enable_twofactor(old)
    enable_twofactor(current)
    store(old, sealing.seal(TOTP_SECRET, twofactor.SEALED_PURPOSE, secret=b"the former key"))
    db.session.expire_all()
    result = invoke(runner, "user", "reencrypt-secrets", input="the former key\n")
    assert result.exit_code == 0, result.output
    assert "1 re-encrypted, 1 already current" in result.stdout
    db.session.expire_all()
    assert sealing.unseal(stored(old), twofactor.SEALED_PURPOSE) == TOTP_SECRET
    assert twofactor.verify(old, pyotp.TOTP(TOTP_SECRET).at(clock.now()))


def test_reencrypt_secrets_names_the_secrets_it_cannot_open(runner, make_account):
    account = make_account("member")
    enable_twofactor(account)
    store(account, sealing.seal(TOTP_SECRET, twofactor.SEALED_PURPOSE, secret=b"lost key"))
    result = invoke(runner, "user", "reencrypt-secrets", input="the wrong former key\n")
    assert result.exit_code != 0
    [line] = stderr_lines(result)
    assert "1" in line and "reset" in line


# --- a staff admin resets a lost second factor -----------------------------------------------


def reset_path(account) -> str:
    return f"/staff/accounts/{account.id}/two-factor/reset"


def reset(client, account, reason="ÄRENDE-4711"):
    return post(
        client, reset_path(account), {"reason": reason}, page=f"/staff/accounts/{account.id}"
    )


@pytest.fixture
def staff_admin(app, make_account):
    account = make_account("staff_admin")
    client = app.test_client()
    login_as(client, account)
    return account, client


def test_a_staff_admin_resets_a_staff_members_second_factor(
    app, staff_admin, make_account, mailbox
):
    admin, admin_client = staff_admin
    member = make_account("support")
    member_client = app.test_client()
    login_as(member_client, member)
    page = admin_client.get(f"/staff/accounts/{member.id}").get_data(as_text=True)
    assert f'action="{reset_path(member)}"' in page

    response = reset(admin_client, member)
    assert response.status_code == 302
    db.session.expire_all()
    assert twofactor.secret_record(member) is None
    assert not db.session.scalars(
        sa.select(RecoveryCode).where(RecoveryCode.account_id == member.id)
    ).all()
    # The member is signed out and enrols again at the next sign-in.
    assert member_client.get("/staff/companies").status_code == 302
    assert not db.session.scalars(
        sa.select(LoginSession).where(
            LoginSession.account_id == member.id, LoginSession.revoked_dt.is_(None)
        )
    ).all()
    again = app.test_client()
    assert login(again, member).headers["Location"].endswith("/login/two-factor/enrol")
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "2fa.reset"))
    assert (event.actor_account_id, event.subject_id) == (admin.id, member.id)
    assert event.reason == "ÄRENDE-4711"
    assert mailbox.to(member.email)


def test_a_customers_reset_second_factor_must_be_enrolled_again(app, staff_admin, make_account):
    _admin, admin_client = staff_admin
    customer = make_account("member")
    enable_twofactor(customer)
    assert reset(admin_client, customer).status_code == 302
    db.session.expire_all()
    client = app.test_client()
    assert login(client, customer).headers["Location"].endswith("/login/two-factor/enrol")
    assert client.get("/").status_code == 302  # no session before the new enrolment
    page = client.get("/login/two-factor/enrol").get_data(as_text=True)
    secret = twofactor.secret_record(customer).secret
    token = csrf_token(client, "/login/two-factor/enrol")
    client.post(
        "/login/two-factor/enrol",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
    )
    assert 'name="code"' in page
    assert client.get("/").status_code == 200
    db.session.expire_all()
    assert twofactor.is_enabled(customer)
    assert not twofactor.is_required(customer)  # a customer's choice again, once enrolled


def test_the_reset_needs_a_reason(staff_admin, make_account):
    _admin, admin_client = staff_admin
    member = make_account("support")
    enable_twofactor(member)
    response = reset(admin_client, member, reason="")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert twofactor.is_enabled(member)


def test_a_staff_admin_cannot_reset_their_own_second_factor_here(staff_admin):
    admin, admin_client = staff_admin
    response = reset(admin_client, admin)
    assert response.status_code == 200
    db.session.expire_all()
    assert twofactor.is_enabled(admin)


def test_support_cannot_reset_and_sees_no_button(app, make_account):
    support = make_account("support")
    client = app.test_client()
    login_as(client, support)
    member = make_account("support")
    enable_twofactor(member)
    page = client.get(f"/staff/accounts/{member.id}").get_data(as_text=True)
    assert reset_path(member) not in page
    assert reset(client, member).status_code == 404
    assert twofactor.is_enabled(member)
