"""Server-side sessions: a cookie is honoured only while its session record is live."""

from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import LoginSession
from portal.audit import AuditEvent
from portal.db import db
from tests.factories import csrf_token, enable_twofactor, login, login_as, post, totp_code


def _cookies(client):
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def _copy_cookies(source, target):
    for key, value in _cookies(source).items():
        target.set_cookie(key, value)


def test_a_cookie_copied_before_logout_is_refused_after_it(app, client, make_account):
    account = make_account("member")
    login_as(client, account)
    thief = app.test_client()
    _copy_cookies(client, thief)
    assert thief.get("/").status_code == 200

    post(client, "/logout")

    response = thief.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_every_login_gets_a_new_session_key(app, client, make_account):
    account = make_account("member")
    login_as(client, account)
    first = _cookies(client)["portal_session"]
    post(client, "/logout")
    login_as(client, account)
    assert _cookies(client)["portal_session"] != first
    keys = db.session.scalars(
        sa.select(LoginSession.key_hash).where(LoginSession.account_id == account.id)
    ).all()
    assert len(set(keys)) == 2


def test_a_session_cookie_from_before_login_is_not_kept(app, client, make_account):
    account = make_account("member")
    csrf_token(client, "/login")
    before = _cookies(client)["portal_session"]
    login_as(client, account)
    assert _cookies(client)["portal_session"] != before


def test_idle_timeout_ends_the_session(app, client, make_account, frozen_clock):
    account = make_account("member")
    login_as(client, account)
    frozen_clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200, "activity keeps the session alive"
    frozen_clock.advance(timedelta(minutes=31))
    assert client.get("/").status_code == 302


def test_absolute_timeout_ends_even_an_active_session(app, client, make_account, frozen_clock):
    account = make_account("member")
    login_as(client, account)
    for _ in range(24):  # 24 x 29 minutes = 11 h 36 min, never idle for 30 minutes
        frozen_clock.advance(timedelta(minutes=29))
        assert client.get("/").status_code == 200
    frozen_clock.advance(timedelta(minutes=25))  # 12 h 1 min after signing in
    assert client.get("/").status_code == 302


def test_idle_timeout_is_configurable(app, client, make_account, frozen_clock):
    account = make_account("member")
    app.config["PORTAL_SESSION_IDLE_MINUTES"] = 5
    try:
        login_as(client, account)
        frozen_clock.advance(timedelta(minutes=6))
        assert client.get("/").status_code == 302
    finally:
        app.config["PORTAL_SESSION_IDLE_MINUTES"] = 30


def test_deactivating_an_account_ends_its_sessions_at_the_next_request(app, client, make_account):
    member = make_account("member")
    login_as(client, member)
    member.is_active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_account_page_lists_sessions_and_ends_the_others(app, client, make_account):
    account = make_account("member")
    other_browser = app.test_client()
    login_as(other_browser, account)
    login_as(client, account)

    page = client.get("/account").get_data(as_text=True)
    assert "This browser" in page or "Den här webbläsaren" in page
    assert page.count("<tr>") >= 3  # header row and two sessions

    response = post(client, "/account/sessions/end-others", page="/account")
    assert response.status_code == 302
    assert other_browser.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "session.revoked", AuditEvent.subject_id == account.id)
    )


def test_ending_one_other_session_by_id(app, client, make_account):
    account = make_account("member")
    other_browser = app.test_client()
    login_as(other_browser, account)
    login_as(client, account)
    other = db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.account_id == account.id)
        .order_by(LoginSession.id)
    ).first()
    response = post(client, f"/account/sessions/{other.id}/end", page="/account")
    assert response.status_code == 302
    assert other_browser.get("/").status_code == 302


def test_someone_elses_session_cannot_be_ended(app, client, make_account):
    owner = make_account("member")
    stranger = make_account("member")
    owner_browser = app.test_client()
    login_as(owner_browser, owner)
    login_as(client, stranger)
    owners_session = db.session.scalar(
        sa.select(LoginSession).where(LoginSession.account_id == owner.id)
    )
    response = post(client, f"/account/sessions/{owners_session.id}/end", page="/account")
    assert response.status_code == 404
    assert owner_browser.get("/").status_code == 200


def test_remember_me_outlives_the_idle_timeout(app, client, make_account, frozen_clock):
    account = make_account("member")
    login(client, account, remember="y")
    frozen_clock.advance(timedelta(days=3))
    assert client.get("/").status_code == 200
    frozen_clock.advance(timedelta(days=28))
    assert client.get("/").status_code == 302


def test_the_session_key_is_stored_only_as_a_hash(app, client, make_account):
    account = make_account("member")
    login_as(client, account)
    session_cookie = _cookies(client)["portal_session"]
    record = db.session.scalar(sa.select(LoginSession).where(LoginSession.account_id == account.id))
    assert len(record.key_hash) == 64
    assert record.key_hash not in session_cookie


def test_staff_cannot_get_a_remember_me_session(app, client, make_account, frozen_clock):
    """Remember-me is for customers: a staff session keeps the idle and absolute limits."""
    staff = make_account("staff_admin")
    enable_twofactor(staff)
    login(client, staff, remember="y")
    token = csrf_token(client, "/login/two-factor")
    client.post("/login/two-factor", data={"code": totp_code(staff), "csrf_token": token})
    record = db.session.scalar(sa.select(LoginSession).where(LoginSession.account_id == staff.id))
    assert record is not None and not record.remember
    absolute = timedelta(hours=app.config["PORTAL_SESSION_ABSOLUTE_HOURS"])
    assert record.expires_dt - record.created_dt == absolute
    assert app.config["REMEMBER_COOKIE_NAME"] not in _cookies(client)
    assert client.get("/staff/companies").status_code == 200
    idle = timedelta(minutes=app.config["PORTAL_SESSION_IDLE_MINUTES"])
    frozen_clock.advance(idle + timedelta(seconds=1))
    assert client.get("/staff/companies").status_code == 302


def test_a_remembered_staff_session_from_before_still_has_the_idle_limit(
    app, client, make_account, frozen_clock
):
    staff = make_account("support")
    login_as(client, staff)
    record = db.session.scalar(sa.select(LoginSession).where(LoginSession.account_id == staff.id))
    record.remember = True  # as a staff session made before the rule could be
    db.session.flush()
    idle = timedelta(minutes=app.config["PORTAL_SESSION_IDLE_MINUTES"])
    frozen_clock.advance(idle + timedelta(seconds=1))
    assert client.get("/staff/companies").status_code == 302
