"""Staff pages for licenses, products and releases: staff read, staff admins change, all audited."""

import hashlib
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.config import MEGABYTE, UPLOAD_FORM_ALLOWANCE, apply_settings, upload_body_bytes
from portal.db import db
from portal.licenses import store
from portal.licenses.models import License, LicenseState, Product, Release
from portal.licenses.service import product_by_code
from tests.factories import in_english, login_as, post

UPLOAD_PAGE = "/staff/licenses/releases/new"


@pytest.fixture
def staff_admin(make_account):
    return make_account("staff_admin")


@pytest.fixture
def admin_client(client, staff_admin):
    login_as(in_english(client), staff_admin)
    return client


@pytest.fixture
def company(make_company):
    return make_company("Nordisk Betalservice AB")


def _actions(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def _licenses_of(company) -> list[License]:
    return db.session.scalars(
        sa.select(License).where(License.company_id == company.id).order_by(License.id)
    ).all()


# Licenses ---------------------------------------------------------------------------------------


def test_staff_admin_creates_a_license(admin_client, staff_admin, company):
    safelink = product_by_code("safelink")
    db.session.commit()
    response = post(
        admin_client,
        "/staff/licenses/new",
        {
            "company": company.id,
            "product": safelink.id,
            "seats": "25",
            "valid_from": "2026-01-01",
            "valid_until": "2027-12-31",
            "maintenance_until": "2027-06-30",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/licenses/companies/{company.id}"
    [license] = _licenses_of(company)
    assert (license.product_id, license.seats) == (safelink.id, 25)
    assert (license.valid_from, license.valid_until, license.maintenance_until) == (
        date(2026, 1, 1),
        date(2027, 12, 31),
        date(2027, 6, 30),
    )
    [event] = _actions("license.created")
    assert event.actor_account_id == staff_admin.id
    assert event.company_id == company.id


def test_license_that_ends_before_it_starts_is_refused_with_a_form_error(admin_client, company):
    response = post(
        admin_client,
        "/staff/licenses/new",
        {
            "company": company.id,
            "product": product_by_code("safelink").id,
            "seats": "3",
            "valid_from": "2026-06-01",
            "valid_until": "2026-05-31",
        },
    )
    assert response.status_code == 200
    assert "The license cannot end before it starts." in response.get_data(as_text=True)
    assert _licenses_of(company) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seats", "0", "Enter a number from 1 to 100000."),
        ("seats", "many", "Not a valid integer value."),
        ("company", "999999", "Not a valid choice"),
        ("valid_from", "31/12/2026", "Not a valid date value"),
    ],
)
def test_bad_license_input_is_refused_and_kept(admin_client, company, field, value, message):
    data = {
        "company": company.id,
        "product": product_by_code("safelink").id,
        "seats": "3",
        "valid_from": "2026-06-01",
        field: value,
    }
    response = post(admin_client, "/staff/licenses/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert _licenses_of(company) == []


def test_company_page_lists_its_licenses_with_masked_keys(
    admin_client, company, make_license, make_company
):
    license = make_license(company, "secure-envelope", seats=4)
    other = make_license(make_company(), "safelink")
    db.session.commit()
    html = admin_client.get(f"/staff/licenses/companies/{company.id}").get_data(as_text=True)
    assert "Nordea Secure Envelope" in html
    assert license.key[:5] in html
    assert license.key not in html
    assert other.key[:5] not in html


def test_the_index_counts_a_company_without_licenses_as_none_valid(
    admin_client, company, make_company, make_license, frozen_clock
):
    make_license(company, "safelink", valid_until=None)
    make_license(
        company,
        "safelink-pfr",
        valid_from=date(2024, 1, 1),
        valid_until=clock.today() - timedelta(days=1),
    )
    empty = make_company("Tomma Lådan AB")
    db.session.commit()
    page = admin_client.get("/staff/licenses/").get_data(as_text=True)

    def counts(name: str) -> list[str]:
        [row] = [row for row in page.split("<tr") if name in row]
        return re.findall(r"<td[^>]*>\s*(\d+)\s*</td>", row)

    assert counts(empty.name) == ["0", "0"]
    assert counts(company.name) == ["2", "1"]


def test_extend_sets_new_dates_and_is_audited(admin_client, company, make_license, frozen_clock):
    license = make_license(
        company, "safelink", valid_until=date(2026, 12, 31), maintenance_until=date(2026, 12, 31)
    )
    db.session.commit()
    page = admin_client.get(f"/staff/licenses/{license.id}/extend").get_data(as_text=True)
    assert 'value="2026-12-31"' in page
    response = post(
        admin_client,
        f"/staff/licenses/{license.id}/extend",
        {"valid_until": "2027-12-31", "maintenance_until": "2027-12-31"},
    )
    assert response.status_code == 302
    db.session.refresh(license)
    assert (license.valid_until, license.maintenance_until) == (date(2027, 12, 31),) * 2
    [event] = _actions("license.extended")
    assert event.details == {
        "before": {"valid_until": "2026-12-31", "maintenance_until": "2026-12-31"},
        "after": {"valid_until": "2027-12-31", "maintenance_until": "2027-12-31"},
    }


def test_revoke_asks_for_confirmation_first(admin_client, company, make_license):
    license = make_license(company, "safelink")
    db.session.commit()
    page = admin_client.get(f"/staff/licenses/{license.id}/revoke").get_data(as_text=True)
    assert "Revoke the SafeLink license of Nordisk Betalservice AB?" in page
    db.session.refresh(license)
    assert license.revoked_dt is None


def test_revoke_changes_the_state_for_the_customer(
    frozen_clock, admin_client, company, make_license, make_account, app
):
    license = make_license(company, "safelink")
    member = make_account("member", company=company)
    db.session.commit()
    response = post(admin_client, f"/staff/licenses/{license.id}/revoke")
    assert response.status_code == 302
    db.session.refresh(license)
    assert license.state_on(clock.today()) == LicenseState.REVOKED
    assert len(_actions("license.revoked")) == 1
    customer = in_english(app.test_client())
    login_as(customer, member)
    assert "Revoked" in customer.get(f"/licenses/{license.id}").get_data(as_text=True)


def test_revoking_twice_changes_nothing_the_second_time(admin_client, company, make_license):
    license = make_license(company, "safelink")
    db.session.commit()
    post(admin_client, f"/staff/licenses/{license.id}/revoke")
    db.session.refresh(license)
    first = license.revoked_dt
    post(admin_client, f"/staff/licenses/{license.id}/revoke")
    db.session.refresh(license)
    assert license.revoked_dt == first
    assert len(_actions("license.revoked")) == 1


def test_a_revoked_license_cannot_be_extended(admin_client, company, make_license):
    license = make_license(company, "safelink", valid_until=date(2026, 12, 31))
    license.revoked_dt = clock.now()
    db.session.commit()
    response = post(
        admin_client, f"/staff/licenses/{license.id}/extend", {"valid_until": "2030-01-01"}
    )
    assert response.status_code == 302
    db.session.refresh(license)
    assert license.valid_until == date(2026, 12, 31)
    assert _actions("license.extended") == []


def test_unknown_license_answers_404_to_staff(admin_client):
    assert admin_client.get("/staff/licenses/424242/extend").status_code == 404
    assert admin_client.get("/staff/licenses/companies/424242").status_code == 404


# Products -------------------------------------------------------------------------------------


def test_staff_admin_creates_a_product(admin_client):
    response = post(
        admin_client, "/staff/licenses/products/new", {"code": "SafeLink-Cloud", "name": "Cloud"}
    )
    assert response.status_code == 302
    product = db.session.scalar(sa.select(Product).where(Product.code == "safelink-cloud"))
    assert product.name == "Cloud"
    [event] = _actions("product.created")
    assert event.subject_id == product.id


def test_a_product_code_that_exists_is_refused(admin_client):
    response = post(
        admin_client, "/staff/licenses/products/new", {"code": "safelink", "name": "Again"}
    )
    assert response.status_code == 200
    assert "A product with this code already exists." in response.get_data(as_text=True)


# Releases -------------------------------------------------------------------------------------


def _upload(client, content: bytes, version: str = "6.2", filename="SafeLink-6.2.zip", **extra):
    data = {
        "product": str(product_by_code("safelink").id),
        "version": version,
        "released_on": "2026-11-01",
        "end_of_life_on": "",
        "notes": "Faster payment files.",
        "file": (io.BytesIO(content), filename),
        **extra,
    }
    return post(client, UPLOAD_PAGE, data, page=UPLOAD_PAGE, content_type="multipart/form-data")


def _release(version: str) -> Release | None:
    return db.session.scalar(sa.select(Release).where(Release.version == version))


def test_upload_streams_the_file_into_the_store_with_size_and_sha256(admin_client, staff_admin):
    content = bytes(range(256)) * 5000 + b"tail"
    response = _upload(admin_client, content)
    assert response.status_code == 302
    release = _release("6.2")
    [release_file] = release.files
    assert release_file.filename == "SafeLink-6.2.zip"
    assert release_file.size == len(content)
    assert release_file.sha256 == hashlib.sha256(content).hexdigest()
    assert store.path_of(release_file.storage_key).read_bytes() == content
    assert release.notes == "Faster payment files."
    [event] = _actions("release.published")
    assert event.actor_account_id == staff_admin.id
    assert event.details["sha256"] == release_file.sha256


def test_upload_keeps_only_the_base_name_of_the_file(admin_client):
    _upload(admin_client, b"installer", filename="../../build/SafeLink-6.2.zip")
    assert _release("6.2").files[0].filename == "SafeLink-6.2.zip"


def test_the_same_product_and_version_is_refused_with_a_form_error(admin_client, make_release, app):
    make_release("safelink", "6.2")
    db.session.commit()
    stored_before = sorted(path.name for path in store.current().root.iterdir())
    response = _upload(admin_client, b"another installer")
    assert response.status_code == 200
    assert "This product already has a release with this version." in response.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(sa.func.count()).where(Release.version == "6.2")) == 1
    assert sorted(path.name for path in store.current().root.iterdir()) == stored_before


def test_upload_without_a_file_is_refused_with_a_form_error(admin_client):
    response = post(
        admin_client,
        UPLOAD_PAGE,
        {"product": str(product_by_code("safelink").id), "version": "7.0", "released_on": ""},
        page=UPLOAD_PAGE,
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Choose the file to upload." in html
    assert "Enter the release date." in html
    assert 'value="7.0"' in html


def test_a_request_larger_than_the_limit_answers_413(admin_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_MAX_UPLOAD_MB", 1)
    response = _upload(admin_client, b"x" * (2 * MEGABYTE + 1))
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert _release("6.2") is None


def test_a_file_over_the_upload_limit_is_refused_with_a_form_error(admin_client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_MAX_UPLOAD_MB", 1)
    response = _upload(admin_client, b"x" * (MEGABYTE + 1))
    assert response.status_code == 200
    assert "The file is larger than" in response.get_data(as_text=True)
    assert _release("6.2") is None
    assert not any(path.name.endswith(".partial") for path in store.current().root.iterdir())


def test_upload_limit_setting_bounds_the_upload_body_and_leaves_the_app_config(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PORTAL_MAX_UPLOAD_MB", "5")
    config = {"SECRET_KEY": "x"}
    apply_settings(config, str(tmp_path), own_app=True)
    assert config["PORTAL_MAX_UPLOAD_MB"] == 5
    assert upload_body_bytes(config) == 5 * MEGABYTE + UPLOAD_FORM_ALLOWANCE
    assert "MAX_CONTENT_LENGTH" not in config


def test_set_end_of_life_is_saved_and_audited(admin_client, make_release):
    release = make_release("safelink", "5.4")
    db.session.commit()
    response = post(
        admin_client,
        f"/staff/licenses/releases/{release.id}/end-of-life",
        {"end_of_life_on": "2027-03-31"},
    )
    assert response.status_code == 302
    db.session.refresh(release)
    assert release.end_of_life_on == date(2027, 3, 31)
    [event] = _actions("release.end_of_life_set")
    assert event.details == {"before": None, "after": "2027-03-31"}


def test_products_page_lists_releases_newest_first(admin_client, make_release, frozen_clock):
    today = clock.today()
    make_release("safelink", "5.4", released_on=today - timedelta(days=500))
    make_release("safelink", "6.1", released_on=today - timedelta(days=5))
    db.session.commit()
    html = admin_client.get("/staff/licenses/products").get_data(as_text=True)
    assert html.index(">6.1<") < html.index(">5.4<")


# Who may do what ------------------------------------------------------------------------------


def test_support_reads_the_staff_pages_but_cannot_change_anything(
    client, make_account, company, make_license
):
    license = make_license(company, "safelink")
    db.session.commit()
    login_as(in_english(client), make_account("support"))
    assert client.get("/staff/licenses/").status_code == 200
    company_page = client.get(f"/staff/licenses/companies/{company.id}").get_data(as_text=True)
    assert "Revoke" not in company_page
    assert client.get(f"/staff/licenses/{license.id}/revoke").status_code == 404
    assert post(client, f"/staff/licenses/{license.id}/revoke").status_code == 404
    db.session.refresh(license)
    assert license.revoked_dt is None
