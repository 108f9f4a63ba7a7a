"""Sign-in: case-insensitive addresses, no account enumeration, audited outcomes."""

import sqlalchemy as sa

from portal.accounts import passwords
from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.db import db
from tests.factories import PASSWORD, login, post


def test_email_is_case_insensitive(client, make_account):
    account = make_account("member", email="Karin.Ek@Example.com")
    assert account.email == "karin.ek@example.com"
    response = login(client, "KARIN.EK@example.COM")
    assert response.status_code == 302


def test_unknown_address_and_wrong_password_look_the_same(client, make_account):
    account = make_account("member")
    wrong_password = login(client, account.email, "not the right password at all")
    unknown = login(client, "nobody@example.com", "not the right password at all")
    assert wrong_password.status_code == unknown.status_code == 200

    def body(response):
        text = response.get_data(as_text=True)
        return text.replace("nobody@example.com", "X").replace(account.email, "X")

    strip = __import__("re").compile(r'name="csrf_token"[^>]*value="[^"]+"')
    assert strip.sub("", body(wrong_password)) == strip.sub("", body(unknown))


def test_failed_and_successful_logins_are_audited(client, make_account):
    account = make_account("member")
    login(client, account.email, "not the right password at all")
    login(client, account)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("login.%"))
    ).all()
    assert "login.failed" in actions
    assert "login.succeeded" in actions


def test_a_deactivated_account_cannot_sign_in(client, make_account):
    account = make_account("member")
    account.is_active = False
    db.session.commit()
    assert login(client, account).status_code == 200
    assert client.get("/").status_code == 302


def test_an_invited_account_without_password_cannot_sign_in(client, make_account):
    account = make_account("member", password=None)
    db.session.commit()
    assert login(client, account.email, "").status_code == 200
    assert login(client, account.email, "anything at all here").status_code == 200


def test_logout_is_post_only(client, make_account):
    account = make_account("member")
    login(client, account)
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_is_refused(client, make_account):
    account = make_account("member")
    response = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert response.status_code == 400


def test_old_hash_parameters_are_upgraded_at_login(client, make_account):
    from argon2 import PasswordHasher

    account = make_account("member")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    account.password_hash = weak.hash(PASSWORD)
    db.session.commit()
    assert passwords.needs_rehash(account.password_hash)

    login(client, account)
    db.session.expire_all()
    upgraded = db.session.get(Account, account.id).password_hash
    assert not passwords.needs_rehash(upgraded)
    assert "m=19456,t=2,p=1" in upgraded


def test_next_parameter_leads_back_to_a_local_page_only(client, make_account):
    account = make_account("member")
    token_page = client.get("/login?next=/account")
    assert token_page.status_code == 200
    from tests.factories import csrf_token

    response = client.post(
        "/login?next=https://evil.example.com/",
        data={"email": account.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/"


def test_password_policy_refuses_short_and_common_passwords():
    assert passwords.policy_problem("short") is not None
    assert passwords.policy_problem("password1234") is not None or (
        "password1234" not in passwords.common_passwords()
    )
    common_long = next(p for p in passwords.common_passwords() if len(p) >= 12)
    assert passwords.policy_problem(common_long) is not None
    assert passwords.policy_problem("a" * 129) is None
    assert passwords.policy_problem("x" * 257) is not None
    assert passwords.policy_problem("lagom lång mening om kaffe") is None
    assert len(passwords.common_passwords()) >= 10_000
