"""Rate limits: sign-in by client address and by account, password reset, mailed-link forms.

The shared test app counts in memory (reset before every test by conftest). The Redis tests
build a second app on the real Redis at 127.0.0.1:6379 db 15 (flushed first), or at
PORTAL_TEST_REDIS_URL: when that variable is set, a missing Redis fails instead of skipping.
"""

import os

import pytest
import redis
from flask import Flask

from portal import Portal, create_app, ratelimit
from portal.db import db
from tests import factories
from tests.factories import PASSWORD, request_password_reset, set_new_password

pytestmark = pytest.mark.english

NEW_PASSWORD = "a brand new sentence of words 7"
WRONG_PASSWORD = "certainly not the password"


def _address(n: int) -> dict:
    return {"environ_base": {"REMOTE_ADDR": f"198.51.100.{n}"}}


def _login_post(client, email: str, password: str, prefix: str = "", token=None, **kwargs):
    token = token or factories.csrf_token(client, f"{prefix}/login")
    return client.post(
        f"{prefix}/login",
        data={"email": email, "password": password, "csrf_token": token},
        **kwargs,
    )


def _assert_friendly_429(response, limit_seconds: int):
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page or "För många försök" in page
    assert '<link rel="stylesheet"' in page  # the portal's own look, not a bare error
    assert 1 <= int(response.headers["Retry-After"]) <= limit_seconds


def _lock_out(client, email: str, prefix: str = ""):
    """Ten failed sign-ins, each from another address: the account's limit, not an address's."""
    token = factories.csrf_token(client, f"{prefix}/login")
    for n in range(10):
        response = _login_post(client, email, WRONG_PASSWORD, prefix, token, **_address(n))
        assert response.status_code == 200, f"failure {n + 1} was refused too early"


# --- sign-in --------------------------------------------------------------------------------


def test_sign_in_posts_from_one_address_get_429_after_thirty_a_minute(client):
    token = factories.csrf_token(client, "/login")
    for n in range(30):
        response = _login_post(client, f"stranger{n}@example.com", WRONG_PASSWORD, token=token)
        assert response.status_code == 200, f"attempt {n + 1} was refused"

    response = _login_post(client, "stranger99@example.com", WRONG_PASSWORD, token=token)
    _assert_friendly_429(response, 60)
    elsewhere = _login_post(client, "stranger99@example.com", WRONG_PASSWORD, **_address(7))
    assert elsewhere.status_code == 200


def test_failed_sign_ins_of_one_account_are_limited_from_any_address(app, make_account):
    account = make_account("member")
    client = app.test_client()
    _lock_out(client, account.email.upper())

    response = _login_post(app.test_client(), account.email, PASSWORD, **_address(50))
    _assert_friendly_429(response, 60)


def test_unknown_addresses_are_limited_exactly_like_accounts(client):
    _lock_out(client, "nobody.here@example.com")
    response = _login_post(client, "nobody.here@example.com", WRONG_PASSWORD, **_address(50))
    assert response.status_code == 429


def test_successful_sign_ins_do_not_count_against_the_account(app, make_account):
    account = make_account("member")
    for _ in range(12):
        assert _login_post(app.test_client(), account.email, PASSWORD).status_code == 302


def test_owner_resets_the_password_and_signs_in_after_a_lockout(app, make_account, mailbox):
    account = make_account("member")
    attacker = app.test_client()
    _lock_out(attacker, account.email)
    owner = app.test_client()
    assert _login_post(owner, account.email, PASSWORD).status_code == 429

    assert request_password_reset(owner, account.email).status_code == 200
    (mail,) = mailbox.to(account.email)
    assert set_new_password(owner, mail.path(), NEW_PASSWORD).status_code == 302

    assert _login_post(owner, account.email, NEW_PASSWORD).status_code == 302


# --- password reset requests ------------------------------------------------------------------


def test_reset_requests_for_one_address_are_limited_from_any_client(app, make_account, mailbox):
    account = make_account("member")
    client = app.test_client()
    for n in range(5):
        assert request_password_reset(client, account.email, **_address(n)).status_code == 200

    response = request_password_reset(client, account.email, **_address(9))
    _assert_friendly_429(response, 60)
    assert len(mailbox.to(account.email)) == 5


def test_reset_requests_from_one_client_are_limited(client, mailbox):
    for n in range(10):
        assert request_password_reset(client, f"someone{n}@example.com").status_code == 200

    response = request_password_reset(client, "someone99@example.com")
    _assert_friendly_429(response, 60)


# --- forms behind mailed links, and current-password checks ----------------------------------


@pytest.mark.parametrize(
    "path",
    ["/invite/not-a-real-token", "/password/reset/not-a-real-token"],
)
def test_posts_to_mailed_link_forms_are_limited_per_address(client, path):
    token = factories.csrf_token(client, "/password/forgot")
    for n in range(20):
        response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 404, f"attempt {n + 1}"

    _assert_friendly_429(client.post(path, data={"csrf_token": token}), 60)
    assert client.get(path).status_code == 404  # showing the page is not limited


def test_wrong_current_passwords_are_limited_across_both_forms(app, make_account):
    account = make_account("member")
    client = app.test_client()
    assert factories.login_as(client, account).status_code == 302
    token = factories.csrf_token(client, "/account/password")
    attempts = {
        "/account/password": {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        "/account/email": {"email": "new.address@example.org"},
    }
    for n in range(10):
        path = list(attempts)[n % 2]
        data = {**attempts[path], "current_password": WRONG_PASSWORD, "csrf_token": token}
        assert client.post(path, data=data).status_code == 200, f"attempt {n + 1}"

    data = {**attempts["/account/password"], "current_password": PASSWORD, "csrf_token": token}
    response = client.post("/account/password", data=data)
    _assert_friendly_429(response, 60)


# --- the portal inside a host site ----------------------------------------------------------


@pytest.fixture
def host_app(app_config):
    host = Flask("host_site")
    host.config.update(
        SECRET_KEY="host secret key for tests",
        SQLALCHEMY_DATABASE_URI=app_config["SQLALCHEMY_DATABASE_URI"],
        PORTAL_MAIL_URL=app_config["PORTAL_MAIL_URL"],
        PORTAL_RELEASE_STORE=app_config["PORTAL_RELEASE_STORE"],
        RATELIMIT_STORAGE_URI="memory://",
        TESTING=True,
    )

    @host.route("/contact", methods=["GET", "POST"])
    def contact():
        return "the host's own page"

    Portal(host, url_prefix="/kundportal")
    return host


def test_host_site_routes_get_no_limits(host_app):
    client = host_app.test_client()
    for _ in range(150):
        assert client.post("/contact").status_code == 200
    assert "Retry-After" not in client.get("/contact").headers


def test_mounted_portal_limits_sign_in_with_its_own_counters(host_app, app, make_account):
    account = make_account("member")
    db.session.commit()
    client = host_app.test_client()
    _lock_out(client, account.email, prefix="/kundportal")

    response = _login_post(client, account.email, PASSWORD, "/kundportal", **_address(50))
    _assert_friendly_429(response, 60)
    # The standalone app counts in its own storage: the same account is not locked there.
    assert _login_post(app.test_client(), account.email, PASSWORD).status_code == 302


# --- Redis --------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="module")
def redis_server():
    """(url, client, problem): an unreachable Redis skips, or fails when it was asked for."""
    url = REDIS_URL or DEFAULT_REDIS_URL
    server = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        server.ping()
    except redis.exceptions.RedisError as error:
        server.close()
        if not REDIS_URL:
            pytest.skip(f"no Redis at {url} ({error}); set PORTAL_TEST_REDIS_URL to require one")
        yield url, None, f"PORTAL_TEST_REDIS_URL={REDIS_URL} is set but unreachable: {error}"
        return
    yield url, server, None
    server.flushdb()
    server.close()


@pytest.fixture(scope="module")
def redis_app(redis_server, app_config, app):
    url, _, _ = redis_server
    redis_app = create_app(dict(app_config, RATELIMIT_STORAGE_URI=url))
    redis_app.test_client_class = app.test_client_class
    return redis_app


def _empty_redis(redis_server) -> redis.Redis:
    _, server, problem = redis_server
    if problem:
        pytest.fail(problem)
    server.flushdb()
    return server


def test_redis_storage_answers_429_and_keeps_no_addresses(
    redis_server, redis_app, app, make_account
):
    redis_db = _empty_redis(redis_server)
    account = make_account("member")
    db.session.commit()
    with redis_app.app_context():
        assert type(ratelimit.limiter.storage.primary).__name__ == "RedisStorage"
    client = redis_app.test_client()
    _lock_out(client, account.email)

    response = _login_post(client, account.email, PASSWORD, **_address(50))
    _assert_friendly_429(response, 60)
    keys = [key.decode() for key in redis_db.keys("*")]
    assert keys, "the counters are not in Redis"
    assert not [key for key in keys if "@" in key or account.email in key]
    # The shared test app keeps counting in memory: the account is not locked there.
    assert _login_post(app.test_client(), account.email, PASSWORD).status_code == 302


def test_redis_storage_forgets_the_failures_after_a_reset(
    redis_server, redis_app, make_account, mailbox
):
    _empty_redis(redis_server)
    account = make_account("member")
    db.session.commit()
    client = redis_app.test_client()
    _lock_out(client, account.email)
    assert _login_post(client, account.email, PASSWORD).status_code == 429

    request_password_reset(client, account.email)
    (mail,) = mailbox.to(account.email)
    assert set_new_password(client, mail.path(), NEW_PASSWORD).status_code == 302
    assert _login_post(client, account.email, NEW_PASSWORD).status_code == 302


# --- a Redis that goes away -------------------------------------------------------------------


def test_sign_in_keeps_working_with_per_process_limits_while_redis_is_down(
    own_redis, app_config, app, make_account, caplog
):
    account = make_account("member")
    db.session.commit()
    portal = create_app(dict(app_config, RATELIMIT_STORAGE_URI=own_redis.url))
    portal.test_client_class = app.test_client_class
    client = portal.test_client()
    assert _login_post(client, account.email, PASSWORD, **_address(1)).status_code == 302

    own_redis.stop()
    with portal.app_context():
        assert ratelimit.storage_state() == "down"
    caplog.set_level("WARNING", logger="portal.ratelimit")
    other = portal.test_client()
    assert _login_post(other, account.email, PASSWORD, **_address(2)).status_code == 302
    # The same limits hold, counted in this process: one address's 31st post a minute is refused.
    statuses = [
        _login_post(portal.test_client(), f"x{n}@example.com", "wrong", **_address(3)).status_code
        for n in range(31)
    ]
    assert statuses.count(429) == 1 and 500 not in statuses
    # The second step's own limit per address also holds while Redis is down.
    guesser = portal.test_client()
    token = factories.csrf_token(guesser, "/login")
    statuses = [
        guesser.post(
            "/login/two-factor", data={"code": "123456", "csrf_token": token}, **_address(5)
        ).status_code
        for _ in range(11)
    ]
    assert statuses.count(429) == 1 and 500 not in statuses
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # said once, not once a request

    own_redis.start()
    with portal.app_context():
        ratelimit.limiter.storage._retry_at = 0.0  # as if RETRY_SECONDS had passed
    assert (
        _login_post(portal.test_client(), account.email, PASSWORD, **_address(4)).status_code == 302
    )
    with portal.app_context():
        assert ratelimit.storage_state() == "ok"
        assert not ratelimit.limiter.storage.is_down  # counting in Redis again
    keys = redis.Redis.from_url(own_redis.url).keys("*")
    assert keys, "the counters went back to Redis"


def test_an_app_can_switch_the_limits_off(app_config, tmp_path):
    """RATELIMIT_ENABLED=False (the benchmarks' servers, where every client shares an address)."""
    from portal import create_app

    quiet = create_app(
        {**app_config, "RATELIMIT_ENABLED": False, "PORTAL_INSTANCE_PATH": str(tmp_path)}
    )
    client = quiet.test_client()
    statuses = {_login_post(client, "nobody@example.com", "wrong").status_code for _ in range(35)}
    assert 429 not in statuses
