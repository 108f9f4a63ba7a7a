"""PORTAL_TRUSTED_PROXIES: the client behind a load balancer, through Werkzeug's ProxyFix alone.

The same behaviour through a real nginx is in tests/test_nginx.py.
"""

import pytest
import sqlalchemy as sa

from portal import Portal, create_app
from portal.accounts.models import LoginSession
from portal.audit import AuditEvent
from portal.config import ConfigurationError
from portal.db import db
from portal.i18n import LANGUAGE_COOKIE
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.english

PROXY = "10.0.0.5"  # the load balancer: the address every request arrives from
WRONG_PASSWORD = "certainly not the password"


@pytest.fixture
def proxied(app, app_config):
    portal = create_app(dict(app_config, PORTAL_TRUSTED_PROXIES=1))
    portal.test_client_class = app.test_client_class
    return portal


def _through_proxy(client_address: str | None, *, forged: str | None = None, **headers) -> dict:
    forwarded = ", ".join(value for value in (forged, client_address) if value)
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return {"environ_base": {"REMOTE_ADDR": PROXY}, "headers": headers}


def _login_post(client, email, password, **request):
    token = factories.csrf_token(client, "/login")
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **request
    )


def test_thirty_two_clients_through_one_proxy_are_not_one_rate_limit_bucket(proxied):
    statuses = [
        _login_post(
            proxied.test_client(),
            f"client{n}@example.com",
            WRONG_PASSWORD,
            **_through_proxy(f"203.0.113.{n}"),
        ).status_code
        for n in range(32)
    ]
    assert statuses == [200] * 32


def test_a_forged_leftmost_address_does_not_escape_the_rate_limit(proxied):
    statuses = [
        _login_post(
            proxied.test_client(),
            f"client{n}@example.com",
            WRONG_PASSWORD,
            **_through_proxy("203.0.113.9", forged=f"192.0.2.{n}"),
        ).status_code
        for n in range(31)
    ]
    assert statuses == [200] * 30 + [429]


def test_without_trusted_proxies_the_forwarded_header_is_ignored(app, client):
    statuses = [
        _login_post(
            app.test_client(),
            f"client{n}@example.com",
            WRONG_PASSWORD,
            **_through_proxy(f"203.0.113.{n}"),
        ).status_code
        for n in range(31)
    ]
    assert statuses[-1] == 429  # every request counted against the proxy's own address


def test_session_record_and_audit_event_carry_the_real_client(proxied, make_account):
    account = make_account("member")
    db.session.commit()
    client = proxied.test_client()
    request = _through_proxy("203.0.113.77", forged="192.0.2.1")
    assert _login_post(client, account.email, PASSWORD, **request).status_code == 302
    record = db.session.scalar(sa.select(LoginSession).where(LoginSession.account_id == account.id))
    assert record.ip_address == "203.0.113.77"
    event = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "login.succeeded", AuditEvent.subject_id == account.id
        )
    )
    assert event.ip_address == "203.0.113.77"


def test_language_cookie_is_secure_behind_tls_offload(proxied):
    response = proxied.test_client().get(
        "/language/en", **_through_proxy("203.0.113.5", **{"X-Forwarded-Proto": "https"})
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=en")
    assert "Secure" in cookie


def test_language_cookie_is_not_secure_over_plain_http_to_the_proxy(proxied):
    response = proxied.test_client().get("/language/en", **_through_proxy("203.0.113.5"))
    assert "Secure" not in response.headers["Set-Cookie"]


@pytest.mark.parametrize("value", ["-1", "many", "6"])
def test_a_wrong_proxy_count_is_refused_at_start(monkeypatch, app_config, value):
    monkeypatch.setenv("PORTAL_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigurationError, match="PORTAL_TRUSTED_PROXIES"):
        create_app(dict(app_config))


def test_mounted_the_hosts_proxy_fix_applies_and_the_setting_is_refused(app_config):
    from flask import Flask

    host = Flask("vendor_site")
    host.config.update(SECRET_KEY="k", PORTAL_TRUSTED_PROXIES=1, **_mounted_basics(app_config))
    with pytest.raises(ConfigurationError, match="ProxyFix"):
        Portal().init_app(host, url_prefix="/kundportal")


def _mounted_basics(app_config) -> dict:
    return {
        "PORTAL_MAIL_URL": app_config["PORTAL_MAIL_URL"],
        "RATELIMIT_STORAGE_URI": "memory://",
    }
