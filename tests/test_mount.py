"""The portal mounted into a vendor's existing Flask site under /kundportal."""

import re

import pytest
from flask import Flask, render_template, request

from portal import Portal
from portal.accounts import service as accounts
from portal.accounts.models import CompanyRole
from portal.companies import service as companies
from portal.db import db
from tests.factories import CSRF_PATTERN, PASSWORD

PREFIX = "/kundportal"
HOST_BASE = (
    "<!doctype html><title>Leverantören</title><p>HOST LAYOUT</p>{% block content %}{% endblock %}"
)
URL_ATTRIBUTE = re.compile(r'\b(?:href|src|action)="([^"]*)"')

pytestmark = pytest.mark.no_transaction


@pytest.fixture
def host(tmp_path, app_config):
    """The vendor's site: its own `/`, templates (with a base.html) and static files."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.html").write_text(HOST_BASE)
    (tmp_path / "templates" / "home.html").write_text(
        '{% extends "base.html" %}{% block content %}Welcome to the vendor{% endblock %}'
    )
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "site.css").write_text("body { color: #333; }")

    site = Flask("vendor_site", root_path=str(tmp_path), instance_path=str(tmp_path / "instance"))
    site.config.update(
        SECRET_KEY="the vendor site's own key",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        PORTAL_RELEASE_STORE=str(tmp_path / "releases"),
        PORTAL_MAIL_URL=app_config["PORTAL_MAIL_URL"],
        RATELIMIT_STORAGE_URI="memory://",
    )

    @site.get("/")
    def home():
        return render_template("home.html")

    @site.post("/contact")
    def contact():
        return f"thanks {request.form.get('name', '')}"

    Portal().init_app(site, url_prefix=PREFIX)
    with site.app_context():
        db.create_all()
    yield site
    with site.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def member(host):
    with host.app_context():
        company = companies.add_company("Monterad AB", "556016-0680", actor_label="test")
        account = accounts.add_account(
            "karin@monterad.example",
            company=company,
            company_role=CompanyRole.MEMBER,
            name="Karin Ek",
            password=PASSWORD,
            actor_label="test",
        )
        db.session.commit()
        return account.email


def test_host_home_page_still_answers_with_its_own_text(host):
    response = host.test_client().get("/")
    assert response.status_code == 200
    assert "Welcome to the vendor" in response.get_data(as_text=True)


def test_host_static_files_are_still_served(host):
    response = host.test_client().get("/static/site.css")
    assert response.status_code == 200
    assert b"color: #333" in response.data


def test_host_form_keeps_its_own_csrf_rules(host):
    response = host.test_client().post("/contact", data={"name": "Per"})
    assert response.status_code == 200
    assert response.data == b"thanks Per"


def test_host_unknown_page_keeps_the_hosts_404(host):
    response = host.test_client().get("/no-such-page")
    assert response.status_code == 404
    assert "site-header" not in response.get_data(as_text=True)


def test_portal_login_page_has_email_password_and_csrf_fields(host):
    response = host.test_client().get(f"{PREFIX}/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("email", "password", "csrf_token"):
        assert f'name="{field}"' in page


def test_portal_page_uses_the_portal_layout_not_the_hosts_base(host):
    page = host.test_client().get(f"{PREFIX}/login").get_data(as_text=True)
    assert "HOST LAYOUT" not in page
    assert 'class="site-header"' in page
    assert 'class="skip-link"' in page


def test_every_link_and_asset_on_the_portal_page_carries_the_prefix(host):
    page = host.test_client().get(f"{PREFIX}/login").get_data(as_text=True)
    urls = [url for url in URL_ATTRIBUTE.findall(page) if url and not url.startswith("#")]
    assert urls, "the page has links"
    assert [url for url in urls if not url.startswith(PREFIX + "/")] == []


def test_portal_stylesheet_is_served_under_the_prefix(host):
    response = host.test_client().get(f"{PREFIX}/static/portal.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_stranger_is_sent_to_the_prefixed_login(host):
    response = host.test_client().get(f"{PREFIX}/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{PREFIX}/login?next={PREFIX}/")


def test_login_works_through_the_prefix(host, member):
    client = host.test_client()
    token = CSRF_PATTERN.search(client.get(f"{PREFIX}/login").get_data(as_text=True)).group(1)
    response = client.post(
        f"{PREFIX}/login", data={"email": member, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{PREFIX}/"
    page = client.get(f"{PREFIX}/").get_data(as_text=True)
    assert "Monterad AB" in page
    assert "Karin Ek" in page


def test_portal_forms_refuse_a_post_without_csrf_token(host, member):
    response = host.test_client().post(
        f"{PREFIX}/login", data={"email": member, "password": PASSWORD}
    )
    assert response.status_code == 400


def test_portal_pages_carry_security_headers_but_host_pages_do_not(host):
    client = host.test_client()
    policy = client.get(f"{PREFIX}/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "Content-Security-Policy" not in client.get("/").headers


def test_portal_keeps_the_hosts_session_cookie_name(host):
    response = host.test_client().get(f"{PREFIX}/login")
    assert response.headers["Set-Cookie"].startswith("session=")


def test_portal_commands_are_added_to_the_hosts_command_line(host):
    assert {"company", "user", "license", "release", "demo"} <= set(host.cli.commands)
