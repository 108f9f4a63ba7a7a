"""Request bodies and fields are bounded before anything reads or normalises them: a small body
for every form, a large one only for the staff release upload, and each field's length checked
on the raw value (not echoed back when it is too long)."""

import io

import pytest
import sqlalchemy as sa
from flask import Flask, request
from wtforms import StringField
from wtforms.validators import Length

from portal import Portal, emails
from portal.db import db
from portal.forms import PortalForm
from portal.http import FORM_BODY_BYTES
from portal.licenses.models import Release
from portal.licenses.service import product_by_code
from tests.factories import csrf_token, in_english, login_as, post

LONG_ADDRESS = "a" * 300 + "@example.com"


def _forgot(client, email: str, **extra):
    return client.post(
        "/password/forgot",
        data={"csrf_token": csrf_token(client, "/password/forgot"), "email": email, **extra},
    )


def test_a_form_body_over_the_limit_answers_413_with_the_styled_page(client):
    in_english(client)
    response = _forgot(client, "x@example.com", notes="x" * FORM_BODY_BYTES)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "What you sent is too large" in html
    assert 'href="/static/portal.css' in html or "portal.css" in html
    assert len(response.data) < 10_000


def test_a_ten_megabyte_email_field_is_refused_before_it_is_read(client):
    response = _forgot(client, "a" * 10 * 1024 * 1024 + "@example.com")
    assert response.status_code == 413
    assert len(response.data) < 10_000


def test_an_over_long_field_is_refused_on_its_raw_value_and_not_echoed(client):
    in_english(client)
    padded = "  " + "b" * 250 + "@ex.se  "  # over 254 only with the spaces a filter would strip
    for value in (LONG_ADDRESS, padded):
        response = _forgot(client, value)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "Use at most 254 characters." in html
        assert "Enter your email address." not in html
        assert value.strip() not in html


def test_no_filter_sees_a_raw_value_over_the_fields_length(app):
    seen = []

    class Probe(PortalForm):
        name = StringField(filters=[lambda v: seen.append(v) or v], validators=[Length(max=5)])

    with app.test_request_context(method="POST", data={"name": "x" * 6}):
        form = Probe(meta={"csrf": False})
        assert not form.validate()
        [error] = form.name.errors  # "Use at most 5 characters.", in the page's language
        assert " 5 " in error
    assert seen == [""]
    with app.test_request_context(method="POST", data={"name": "x" * 5}):
        assert Probe(meta={"csrf": False}).validate()
    assert seen == ["", "xxxxx"]


def test_normalize_email_refuses_an_over_long_raw_value_before_stripping():
    with pytest.raises(emails.Refusal):
        emails.normalize_email(" " * 300 + "a@example.com")


def test_the_rate_limit_key_never_normalises_an_over_long_address(app_ctx, monkeypatch):
    from portal import ratelimit

    monkeypatch.setattr(
        ratelimit, "normalize_email", lambda value: pytest.fail("normalised " + value[:20])
    )
    assert ratelimit.email_key_for(LONG_ADDRESS).startswith("email:")


def test_the_staff_release_upload_still_takes_a_large_file(client, make_account):
    login_as(client, make_account("staff_admin"))
    content = b"x" * (4 * FORM_BODY_BYTES)
    response = post(
        client,
        "/staff/licenses/releases/new",
        {
            "product": str(product_by_code("safelink").id),
            "version": "9.1",
            "released_on": "2026-01-05",
            "file": (io.BytesIO(content), "safelink-9.1.zip"),
        },
        page="/staff/licenses/releases/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Release).where(Release.version == "9.1")) is not None


def test_the_release_upload_limit_is_the_setting(client, make_account, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_MAX_UPLOAD_MB", 1)
    login_as(client, make_account("staff_admin"))
    response = post(
        client,
        "/staff/licenses/releases/new",
        {
            "product": str(product_by_code("safelink").id),
            "version": "9.2",
            "released_on": "2026-01-05",
            "file": (io.BytesIO(b"x" * 3 * 1024 * 1024), "safelink-9.2.zip"),
        },
        page="/staff/licenses/releases/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


def test_other_staff_forms_keep_the_small_limit(client, make_account):
    login_as(client, make_account("staff_admin"))
    response = post(client, "/staff/licenses/products/new", {"name": "x" * FORM_BODY_BYTES})
    assert response.status_code == 413


@pytest.mark.no_transaction
def test_a_host_sites_own_limit_and_routes_are_untouched(tmp_path, app_config):
    site = Flask("vendor_site", instance_path=str(tmp_path / "instance"))
    site.config.update(
        SECRET_KEY="the vendor site's own key",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        PORTAL_RELEASE_STORE=str(tmp_path / "releases"),
        PORTAL_MAIL_URL=app_config["PORTAL_MAIL_URL"],
        RATELIMIT_STORAGE_URI="memory://",
        MAX_CONTENT_LENGTH=None,
    )

    @site.post("/contact")
    def contact():
        return f"{len(request.form.get('text', ''))}"

    Portal().init_app(site, url_prefix="/kundportal")
    assert site.config["MAX_CONTENT_LENGTH"] is None
    with site.app_context():
        db.create_all()
    client = site.test_client()
    big = "x" * (2 * FORM_BODY_BYTES)
    assert client.post("/contact", data={"text": big}).get_data(as_text=True) == str(len(big))
    answer = client.post("/kundportal/password/forgot", data={"email": big})
    assert answer.status_code == 413
    with site.app_context():
        db.session.remove()
        db.engine.dispose()
