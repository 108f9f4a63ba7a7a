"""TOTP two-factor authentication: enrolment, the second sign-in step, recovery codes, settings."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import sqlalchemy as sa

from portal import clock
from portal.accounts import twofactor
from portal.accounts.models import LoginSession, RecoveryCode, TwoFactorSecret
from portal.audit import AuditEvent
from portal.db import db
from portal.refusals import Refusal
from portal.signin.service import MAX_FAILURES
from tests.factories import (
    PASSWORD,
    TOTP_SECRET,
    csrf_token,
    enable_twofactor,
    login,
    login_as,
    post,
    totp_code,
)

pytestmark = pytest.mark.english

CHALLENGE = "/login/two-factor"
FORCED_ENROLMENT = "/login/two-factor/enrol"
ENROL = "/account/two-factor/enrol"
MANAGE = "/account/two-factor"
DISABLE = "/account/two-factor/disable"
RECOVERY_CODES = "/account/two-factor/recovery-codes"

WRONG_CODE_TEXT = "The code is wrong or has already been used."


def location(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def actions(account) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.subject_type == "Account", AuditEvent.subject_id == account.id)
            .order_by(AuditEvent.id)
        )
    )


def signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


def shown_secret(page: str) -> str:
    """The secret as the enrolment page shows it for typing: groups of four characters."""
    match = re.search(r"<code>((?:[A-Z2-7]{4} ?){8})</code>", page)
    assert match, "the secret is not shown as text"
    return match.group(1).replace(" ", "")


def shown_recovery_codes(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)


def wrong_code(secret: str = TOTP_SECRET) -> str:
    """A well-formed code that no step in the accepted window has."""
    totp = pyotp.TOTP(secret)
    window = {totp.at(clock.now() + timedelta(seconds=30 * step)) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222") if code not in window)


def enter_code(client, code: str, path: str = CHALLENGE):
    return client.post(path, data={"code": code, "csrf_token": csrf_token(client, path)})


@pytest.fixture
def customer_with_2fa(make_account):
    account = make_account("member")
    enable_twofactor(account)
    return account


@pytest.fixture
def pending_customer(client, customer_with_2fa):
    """A customer whose password was right and who now has to give a code."""
    response = login(client, customer_with_2fa)
    assert location(response) == CHALLENGE
    return customer_with_2fa


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_page_shows_the_secret_and_the_otpauth_uri(client, make_account):
    account = make_account("member")
    login_as(client, account)
    page = client.get(ENROL).get_data(as_text=True)
    secret = twofactor.secret_record(account).secret
    assert shown_secret(page) == secret
    uri = re.search(r'href="(otpauth://[^"]+)"', page).group(1).replace("&amp;", "&")
    parts = urlsplit(uri)
    assert parts.netloc == "totp"
    assert unquote(parts.path) == f"/Kundportalen:{account.email}"
    assert parse_qs(parts.query)["secret"] == [secret]
    assert parse_qs(parts.query)["issuer"] == ["Kundportalen"]


def test_reloading_the_enrolment_page_keeps_the_same_secret(client, make_account):
    login_as(client, make_account("member"))
    first = shown_secret(client.get(ENROL).get_data(as_text=True))
    assert shown_secret(client.get(ENROL).get_data(as_text=True)) == first


def test_enrolment_refuses_a_wrong_code_with_a_form_error(client, make_account, frozen_clock):
    account = make_account("member")
    login_as(client, account)
    secret = shown_secret(client.get(ENROL).get_data(as_text=True))
    response = enter_code(client, wrong_code(secret), ENROL)
    assert response.status_code == 200
    assert WRONG_CODE_TEXT in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert not twofactor.is_enabled(account)


def test_enrolment_accepts_the_right_code_and_shows_ten_recovery_codes(
    client, make_account, frozen_clock
):
    account = make_account("member")
    login_as(client, account)
    secret = shown_secret(client.get(ENROL).get_data(as_text=True))
    response = enter_code(client, pyotp.TOTP(secret).at(clock.now()), ENROL)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    codes = shown_recovery_codes(response.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert twofactor.is_enabled(account)
    assert twofactor.remaining_recovery_codes(account) == 10
    stored = set(db.session.scalars(sa.select(RecoveryCode.code_hash)))
    assert not {code.replace("-", "") for code in codes} & stored, "codes are stored hashed"
    assert "2fa.enrolled" in actions(account)


def test_enrolment_notifies_the_owner_by_mail(client, make_account, frozen_clock, mailbox):
    account = make_account("member")
    login_as(client, account)
    secret = shown_secret(client.get(ENROL).get_data(as_text=True))
    enter_code(client, pyotp.TOTP(secret).at(clock.now()), ENROL)
    [mail] = mailbox.to(account.email)
    assert mail.subject.strip()
    assert account.email in mail.text
    assert secret not in mail.text


def test_recovery_codes_are_not_shown_again_on_the_settings_page(
    client, make_account, frozen_clock
):
    account = make_account("member")
    login_as(client, account)
    secret = shown_secret(client.get(ENROL).get_data(as_text=True))
    codes = shown_recovery_codes(
        enter_code(client, pyotp.TOTP(secret).at(clock.now()), ENROL).get_data(as_text=True)
    )
    page = client.get(MANAGE).get_data(as_text=True)
    assert "10 unused recovery codes" in page
    assert not any(code in page for code in codes)
    assert secret not in page
    assert location(client.get(ENROL)) == MANAGE


# --- checking codes: window and replay -------------------------------------------------------


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_a_code_within_one_time_step_is_accepted(app_ctx, make_account, frozen_clock, steps):
    account = make_account("member")
    enable_twofactor(account)
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now() + timedelta(seconds=30 * steps))
    assert twofactor.verify(account, code)


@pytest.mark.parametrize("steps", [-2, 2])
def test_a_code_two_time_steps_away_is_refused(app_ctx, make_account, frozen_clock, steps):
    account = make_account("member")
    enable_twofactor(account)
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now() + timedelta(seconds=30 * steps))
    assert not twofactor.verify(account, code)


def test_the_same_code_is_refused_the_second_time(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    enable_twofactor(account)
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now())
    assert twofactor.verify(account, code)
    assert not twofactor.verify(account, code)


def test_an_earlier_code_is_refused_after_a_later_one_was_used(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    enable_twofactor(account)
    totp = pyotp.TOTP(TOTP_SECRET)
    assert twofactor.verify(account, totp.at(clock.now()))
    assert not twofactor.verify(account, totp.at(clock.now() - timedelta(seconds=30)))
    assert twofactor.verify(account, totp.at(clock.now() + timedelta(seconds=30)))


def test_codes_typed_with_spaces_are_accepted(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    enable_twofactor(account)
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now())
    assert twofactor.verify(account, f" {code[:3]} {code[3:]} ")


def test_an_unconfirmed_secret_does_not_verify(app_ctx, make_account, frozen_clock):
    account = make_account("member")
    record = twofactor.start_enrolment(account)
    assert not twofactor.verify(account, pyotp.TOTP(record.secret).at(clock.now()))


# --- the second step of signing in -----------------------------------------------------------


def test_customer_without_2fa_gets_a_session_from_the_password(client, make_account):
    account = make_account("member")
    response = login(client, account)
    assert location(response) == "/"
    assert signed_in(client)


def test_customer_with_2fa_must_give_a_code_after_the_password(client, pending_customer):
    assert not signed_in(client)
    page = client.get(CHALLENGE).get_data(as_text=True)
    assert 'name="code"' in page


def test_the_second_step_page_is_not_cached(client, pending_customer):
    assert client.get(CHALLENGE).headers["Cache-Control"] == "no-store"


def test_right_code_signs_in_and_is_audited(frozen_clock, client, pending_customer):
    response = enter_code(client, pyotp.TOTP(TOTP_SECRET).at(clock.now()))
    assert location(response) == "/"
    assert signed_in(client)
    event = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "login.succeeded", AuditEvent.subject_id == pending_customer.id
        )
    ).one()
    assert event.details == {"second_factor": "totp"}
    assert TOTP_SECRET not in str(event.details)


def test_second_step_keeps_the_next_address(client, customer_with_2fa, frozen_clock):
    token = csrf_token(client, "/login")
    client.post(
        "/login?next=/account/two-factor",
        data={"email": customer_with_2fa.email, "password": PASSWORD, "csrf_token": token},
    )
    response = enter_code(client, totp_code(customer_with_2fa))
    assert location(response) == MANAGE


def test_remember_me_chosen_with_the_password_applies_after_the_code(
    frozen_clock, app, client, customer_with_2fa
):
    login(client, customer_with_2fa, remember="y")
    assert client.get_cookie(app.config["REMEMBER_COOKIE_NAME"]) is None
    enter_code(client, totp_code(customer_with_2fa))
    assert client.get_cookie(app.config["REMEMBER_COOKIE_NAME"]) is not None
    record = db.session.scalars(
        sa.select(LoginSession).where(LoginSession.account_id == customer_with_2fa.id)
    ).one()
    assert record.remember


def test_wrong_code_is_refused_with_a_form_error_and_audited(
    frozen_clock, client, pending_customer
):
    response = enter_code(client, wrong_code())
    assert response.status_code == 200
    assert WRONG_CODE_TEXT in response.get_data(as_text=True)
    assert not signed_in(client)
    assert actions(pending_customer)[-1] == "login.second_factor_failed"


def test_a_code_used_once_cannot_sign_in_again(app, customer_with_2fa, frozen_clock):
    code = pyotp.TOTP(TOTP_SECRET).at(clock.now())
    first, second = app.test_client(), app.test_client()
    login(first, customer_with_2fa)
    enter_code(first, code)
    assert signed_in(first)
    login(second, customer_with_2fa)
    response = enter_code(second, code)
    assert WRONG_CODE_TEXT in response.get_data(as_text=True)
    assert not signed_in(second)


def test_five_wrong_codes_drop_the_pending_sign_in(frozen_clock, client, pending_customer):
    for _ in range(MAX_FAILURES - 1):
        assert enter_code(client, wrong_code()).status_code == 200
    response = enter_code(client, wrong_code())
    assert location(response) == "/login"
    assert location(client.get(CHALLENGE)) == "/login"
    # Even the right code now needs the password first.
    assert location(enter_code(client, totp_code(pending_customer))) == "/login"
    assert not signed_in(client)


def test_replaying_an_old_pending_cookie_does_not_reset_the_wrong_code_count(
    frozen_clock, app, client, pending_customer
):
    cookie = app.config["SESSION_COOKIE_NAME"]
    saved = client.get_cookie(cookie).value
    for _ in range(MAX_FAILURES):
        enter_code(client, wrong_code())
    client.set_cookie(cookie, saved)
    response = enter_code(client, totp_code(pending_customer))
    assert location(response) == "/login"
    assert not signed_in(client)


def test_pending_sign_in_expires_after_five_minutes(frozen_clock, client, pending_customer):
    clock.advance(timedelta(minutes=5))
    response = enter_code(client, totp_code(pending_customer))
    assert location(response) == "/login"
    assert not signed_in(client)


def test_pending_state_alone_gives_no_access(client, pending_customer):
    response = client.get("/")
    assert response.status_code == 302
    assert location(response) == "/login"
    assert location(client.get(MANAGE)) == "/login"


def test_second_step_without_a_password_sends_to_login(client):
    assert location(client.get(CHALLENGE)) == "/login"
    assert location(client.get(FORCED_ENROLMENT)) == "/login"


@pytest.mark.parametrize(
    "code",
    ["", " ", "abc", "12345", "1234567", "<script>", "ä" * 6, "9" * 41, "x" * 10_000, "١٢٣٤٥٦"],
)
def test_garbage_codes_are_refused_without_an_error(client, pending_customer, code):
    response = enter_code(client, code)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert not signed_in(client)


@pytest.mark.parametrize("path", [CHALLENGE, FORCED_ENROLMENT, ENROL, DISABLE, RECOVERY_CODES])
def test_very_long_input_on_every_two_factor_form_never_fails(client, make_account, path):
    account = make_account("member")
    enable_twofactor(account)
    if path in (CHALLENGE, FORCED_ENROLMENT):
        login(client, make_account("support") if path == FORCED_ENROLMENT else account)
    else:
        login_as(client, account if path != ENROL else make_account("member"))
    # Long, yet within the 64 KiB every form body may have (a larger one is a 413 page).
    data = {"code": "7" * 30_000, "password": "p" * 30_000}
    response = post(client, path, data, page=path)
    assert response.status_code in (200, 302)


# --- recovery codes --------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once(app, customer_with_2fa, frozen_clock):
    codes = twofactor.regenerate_recovery_codes(customer_with_2fa)
    db.session.commit()
    first, second = app.test_client(), app.test_client()
    login(first, customer_with_2fa)
    response = enter_code(first, codes[0])
    assert location(response) == "/"
    assert signed_in(first)
    assert "login.recovery_code_used" in actions(customer_with_2fa)
    assert twofactor.remaining_recovery_codes(customer_with_2fa) == 9
    login(second, customer_with_2fa)
    response = enter_code(second, codes[0])
    assert WRONG_CODE_TEXT in response.get_data(as_text=True)
    assert not signed_in(second)


def test_recovery_codes_are_accepted_without_the_dash_and_in_capitals(client, customer_with_2fa):
    codes = twofactor.regenerate_recovery_codes(customer_with_2fa)
    login(client, customer_with_2fa)
    enter_code(client, codes[0].replace("-", "").upper())
    assert signed_in(client)


def test_recovery_code_use_is_audited_without_the_code(client, customer_with_2fa):
    codes = twofactor.regenerate_recovery_codes(customer_with_2fa)
    login(client, customer_with_2fa)
    enter_code(client, codes[0])
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.subject_id == customer_with_2fa.id)
    ).all()
    assert "login.recovery_code_used" in [event.action for event in events]
    for event in events:
        assert codes[0] not in str(event.details) and codes[0].replace("-", "") not in str(
            event.details
        )


def test_regenerating_recovery_codes_needs_the_password_and_replaces_the_old_ones(
    client, customer_with_2fa
):
    old = twofactor.regenerate_recovery_codes(customer_with_2fa)
    login_as(client, customer_with_2fa)
    refused = post(client, RECOVERY_CODES, {"password": "wrong password 123"}, page=RECOVERY_CODES)
    assert "The password is wrong." in refused.get_data(as_text=True)
    response = post(client, RECOVERY_CODES, {"password": PASSWORD}, page=RECOVERY_CODES)
    new = shown_recovery_codes(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert not twofactor.use_recovery_code(customer_with_2fa, old[1])
    assert twofactor.use_recovery_code(customer_with_2fa, new[1])
    assert actions(customer_with_2fa).count("2fa.recovery_codes_regenerated") == 2


# --- staff -----------------------------------------------------------------------------------


def test_staff_without_2fa_are_sent_to_enrolment_without_a_session(client, make_account):
    account = make_account("support")
    response = login(client, account)
    assert location(response) == FORCED_ENROLMENT
    assert not signed_in(client)
    page = client.get(FORCED_ENROLMENT).get_data(as_text=True)
    assert shown_secret(page) == twofactor.secret_record(account).secret
    assert not signed_in(client)


def test_staff_get_a_session_only_after_confirming_a_code(client, make_account, frozen_clock):
    account = make_account("staff_admin")
    login(client, account)
    secret = shown_secret(client.get(FORCED_ENROLMENT).get_data(as_text=True))
    wrong = enter_code(client, wrong_code(secret), FORCED_ENROLMENT)
    assert WRONG_CODE_TEXT in wrong.get_data(as_text=True)
    assert not signed_in(client)
    response = enter_code(client, pyotp.TOTP(secret).at(clock.now()), FORCED_ENROLMENT)
    assert len(shown_recovery_codes(response.get_data(as_text=True))) == 10
    assert signed_in(client)
    assert twofactor.is_enabled(account)
    assert actions(account)[-2:] == ["2fa.enrolled", "login.succeeded"]


def test_staff_with_2fa_must_give_a_code(client, make_account, frozen_clock):
    account = make_account("support")
    enable_twofactor(account)
    assert location(login(client, account)) == CHALLENGE
    assert not signed_in(client)
    enter_code(client, totp_code(account))
    assert signed_in(client)


def test_login_as_enrols_staff_and_completes_the_second_step(client, make_account):
    account = make_account("support")
    response = login_as(client, account)
    assert location(response) == "/"
    assert twofactor.is_enabled(account)
    assert signed_in(client)


def test_staff_may_not_turn_2fa_off(client, make_account):
    account = make_account("staff_admin")
    login_as(client, account)
    data = {"password": PASSWORD, "code": totp_code(account)}
    assert post(client, DISABLE, data).status_code == 403
    assert twofactor.is_enabled(account)
    assert "cannot be turned off" in client.get(MANAGE).get_data(as_text=True)
    with pytest.raises(Refusal):
        twofactor.disable(account)


# --- turning it off --------------------------------------------------------------------------


def test_customer_may_turn_2fa_off_with_password_and_code(
    client, customer_with_2fa, frozen_clock, mailbox
):
    login_as(client, customer_with_2fa)
    clock.advance(timedelta(seconds=30))
    data = {"password": PASSWORD, "code": totp_code(customer_with_2fa)}
    response = post(client, DISABLE, data, page=DISABLE)
    assert location(response) == MANAGE
    assert not twofactor.is_enabled(customer_with_2fa)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TwoFactorSecret)) == 0
    assert "2fa.disabled" in actions(customer_with_2fa)
    assert mailbox.to(customer_with_2fa.email)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert location(login(client, customer_with_2fa)) == "/"


def test_turning_2fa_off_needs_the_right_password(client, customer_with_2fa, frozen_clock):
    login_as(client, customer_with_2fa)
    clock.advance(timedelta(seconds=30))
    data = {"password": "not the password 42", "code": totp_code(customer_with_2fa)}
    response = post(client, DISABLE, data, page=DISABLE)
    assert "The password is wrong." in response.get_data(as_text=True)
    assert twofactor.is_enabled(customer_with_2fa)


def test_turning_2fa_off_needs_a_valid_code(client, customer_with_2fa, frozen_clock):
    login_as(client, customer_with_2fa)
    data = {"password": PASSWORD, "code": wrong_code()}
    response = post(client, DISABLE, data, page=DISABLE)
    assert WRONG_CODE_TEXT in response.get_data(as_text=True)
    assert twofactor.is_enabled(customer_with_2fa)


def test_a_staff_invitation_leads_to_two_factor_enrolment_not_a_session(app, make_account, mailbox):
    from portal import transaction
    from portal.accounts import service as accounts
    from tests.factories import csrf_token

    staff = make_account("support", password=None)
    with transaction.step():
        accounts.send_invitation(staff, actor_label="test")
    [mail] = mailbox.to(staff.email)
    browser = app.test_client()
    token = csrf_token(browser, mail.path())
    password = "a staff passphrase of my own"
    response = browser.post(
        mail.path(), data={"password": password, "confirm": password, "csrf_token": token}
    )
    assert response.status_code == 302
    assert "/login/two-factor/enrol" in response.headers["Location"]
    assert browser.get("/").status_code == 302
