"""The license page's machines: seat usage, deactivation by the license manager or an admin
(audited), read-only for support, stale marking and the optional policy that frees them, and
offline machines with their signed license files."""

import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import AuditEvent
from portal.db import db
from portal.licenses import service as licenses
from portal.machines import license_files, service
from portal.machines.models import Machine, MachineKind
from portal.machines.service import MachineReport
from tests import factories
from tests.signatures import openssl_verifies, published_key


@pytest.fixture
def company(make_company):
    return make_company("Maskin AB")


@pytest.fixture
def license(company, make_license):
    return make_license(company, seats=3, valid_from=date(2026, 1, 1))


@pytest.fixture
def admin(company, make_account):
    return make_account("admin", company=company)


@pytest.fixture
def manager(company, make_account):
    account = make_account("member", company=company)
    factories.designate_license_manager(account)
    return account


def _page(client, license) -> str:
    return client.get(f"/licenses/{license.id}").get_data(as_text=True)


@pytest.mark.english
def test_the_license_page_lists_machines_and_seat_usage(client, license, company, make_account):
    factories.make_machine(license, hostname="ekonomi-srv01", version="6.2.1")
    factories.make_machine(license, hostname="lon-pc07", kind="offline")
    db.session.commit()
    factories.login_as(client, make_account("member", company=company))
    page = _page(client, license)
    assert "Seats in use: 2 of 3." in page
    assert "ekonomi-srv01" in page and "6.2.1" in page
    assert "Offline (license file)" in page
    assert "Deactivate" not in page  # a member sees, and changes nothing


@pytest.mark.english
@pytest.mark.parametrize("role", ["admin", "manager"])
def test_the_license_manager_and_the_admin_deactivate_a_machine(client, license, request, role):
    account = request.getfixturevalue(role)
    machine = factories.make_machine(license, hostname="old-laptop")
    db.session.commit()
    factories.login_as(client, account)
    path = f"/licenses/{license.id}/machines/{machine.id}/deactivate"
    assert "Deactivate old-laptop?" in client.get(path).get_data(as_text=True)
    response = factories.post(client, path, page=path)
    assert response.status_code == 302
    assert service.machine_of_license(license.id, machine.id) is None
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "machine.deactivated")
    )
    assert event.actor_account_id == account.id
    assert event.details["hostname"] == "old-laptop"
    validation = client.post(
        "/api/v1/machines/validate",
        json={
            "license_key": license.key,
            "fingerprint": machine.fingerprint,
            "product_version": "6.2",
            "nonce": "after-deactivation",
        },
    )
    assert validation.get_json()["code"] == "not_activated"


def test_another_company_cannot_reach_the_machines(client, license, make_account, make_company):
    machine = factories.make_machine(license)
    db.session.commit()
    factories.login_as(client, make_account("admin", company=make_company()))
    path = f"/licenses/{license.id}/machines/{machine.id}/deactivate"
    assert client.get(path).status_code == 404
    assert factories.post(client, path).status_code == 404
    assert db.session.get(Machine, machine.id) is not None


@pytest.mark.english
def test_support_viewing_as_the_customer_sees_the_machines_read_only(
    client, license, admin, make_account
):
    machine = factories.make_machine(license, hostname="seen-by-support")
    db.session.commit()
    support = make_account("support")
    factories.view_as(client, support, admin)
    page = _page(client, license)
    assert "seen-by-support" in page
    assert "Deactivate" not in page
    path = f"/licenses/{license.id}/machines/{machine.id}/deactivate"
    token = factories.csrf_token(client, "/")
    assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert db.session.get(Machine, machine.id) is not None


@pytest.mark.english
def test_support_has_a_read_only_page_of_a_licenses_machines(client, license, make_account):
    factories.make_machine(license, hostname="support-sees-me")
    db.session.commit()
    factories.login_as(client, make_account("support"))
    page = client.get(f"/staff/machines/licenses/{license.id}").get_data(as_text=True)
    assert "support-sees-me" in page
    assert "Seats in use: 1 of 3." in page
    assert "Deactivate" not in page


@pytest.mark.english
def test_a_machine_not_seen_for_the_configured_days_is_marked_stale(
    client, app, license, admin, frozen_clock
):
    factories.make_machine(license, hostname="gone-quiet")
    db.session.commit()
    frozen_clock.advance(timedelta(days=app.config["PORTAL_MACHINE_STALE_DAYS"] + 1))
    factories.make_machine(license, hostname="fresh-one")
    db.session.commit()
    factories.login_as(client, admin)
    page = _page(client, license)
    assert page.count("Stale:") == 1
    assert "not seen for more than 30 days" in page


def test_stale_machines_stay_unless_the_policy_frees_them(app, license, frozen_clock, monkeypatch):
    stale = factories.make_machine(license, hostname="stale-one")
    offline = factories.make_machine(license, hostname="offline-one", kind="offline")
    db.session.flush()
    frozen_clock.advance(timedelta(days=31))
    fresh = factories.make_machine(license, hostname="fresh-one")
    db.session.flush()
    with app.app_context():
        assert service.free_stale_machines() == 0
    assert db.session.get(Machine, stale.id) is not None
    monkeypatch.setitem(app.config, "PORTAL_FREE_STALE_MACHINES", True)
    with app.app_context():
        assert service.free_stale_machines() == 1
    remaining = set(db.session.scalars(sa.select(Machine.hostname)))
    assert remaining == {offline.hostname, fresh.hostname}
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "machine.deactivated")
    )
    assert event.actor_label == "scheduler"


# --- offline machines -----------------------------------------------------------------------


def _offline_form(fingerprint="offline-fp-0001", hostname="vault-01", version="6.2"):
    return {"fingerprint": fingerprint, "hostname": hostname, "product_version": version}


@pytest.mark.english
def test_an_admin_adds_an_offline_machine_by_its_details_and_it_takes_a_seat(
    client, license, admin
):
    factories.login_as(client, admin)
    path = f"/licenses/{license.id}/machines/offline"
    response = factories.post(client, path, _offline_form(), page=path)
    assert response.status_code == 302
    machine = db.session.scalar(sa.select(Machine).where(Machine.license_id == license.id))
    assert (machine.kind, machine.hostname) == (MachineKind.OFFLINE, "vault-01")
    assert service.seats_used(license.id) == 1


@pytest.mark.english
def test_an_offline_machine_can_come_from_its_request_file(client, license, manager):
    factories.login_as(client, manager)
    path = f"/licenses/{license.id}/machines/offline"
    request_file = license_files.request_file(MachineReport("req-fp-000001", "airgap-02", "6.1"))
    response = factories.post(
        client,
        path,
        {"request_file": (io.BytesIO(request_file.encode()), "airgap-02.req")},
        page=path,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    machine = db.session.scalar(sa.select(Machine).where(Machine.license_id == license.id))
    assert (machine.fingerprint, machine.hostname, machine.product_version) == (
        "req-fp-000001",
        "airgap-02",
        "6.1",
    )


@pytest.mark.english
def test_a_request_file_that_is_not_one_is_refused_on_the_form(client, license, admin):
    factories.login_as(client, admin)
    path = f"/licenses/{license.id}/machines/offline"
    response = factories.post(
        client,
        path,
        {"request_file": (io.BytesIO(b"\x00\xffnot json"), "photo.jpg")},
        page=path,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "not a SafeLink machine request" in response.get_data(as_text=True)
    assert service.seats_used(license.id) == 0


@pytest.mark.english
def test_offline_machines_take_seats_like_online_ones(client, license, admin):
    for number in range(3):
        factories.make_machine(license, fingerprint=f"online-fp-{number:05d}")
    db.session.commit()
    factories.login_as(client, admin)
    path = f"/licenses/{license.id}/machines/offline"
    response = factories.post(client, path, _offline_form(), page=path)
    assert response.status_code == 200
    assert "All 3 seats of this license are in use." in response.get_data(as_text=True)
    assert service.seats_used(license.id) == 3


@pytest.mark.english
def test_typed_details_are_checked_by_the_apis_rules(client, license, admin):
    factories.login_as(client, admin)
    path = f"/licenses/{license.id}/machines/offline"
    response = factories.post(
        client, path, _offline_form(fingerprint="short", version="six"), page=path
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Copy the fingerprint exactly" in page
    assert "Write the version as numbers and dots" in page


def _download_license_file(client, license, machine):
    return client.get(f"/licenses/{license.id}/machines/{machine.id}/license-file")


def test_the_license_file_is_signed_and_openssl_verifies_it(
    client, app, license, admin, tmp_path, frozen_clock
):
    machine = factories.make_machine(license, hostname="vault-01", kind="offline")
    db.session.commit()
    factories.login_as(client, admin)
    response = _download_license_file(client, license, machine)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("-----BEGIN SAFELINK LICENSE-----\n")
    assert "-----END SAFELINK LICENSE-----\n-----BEGIN SAFELINK SIGNATURE-----\n" in text
    read = license_files.read(text)
    document = json.loads(read.payload)
    assert document["machine"]["fingerprint"] == machine.fingerprint
    assert document["license"]["id"] == license.id
    assert document["issued"] == "2026-11-02T09:00:00Z"
    assert document["expires"] == "2027-11-02T09:00:00Z"
    public_key = published_key(client, document["key_id"])
    assert openssl_verifies(public_key, read.payload, read.signature, tmp_path / "good")
    tampered = read.payload.replace(b'"seats":3', b'"seats":99')
    assert not openssl_verifies(public_key, tampered, read.signature, tmp_path / "bad")
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "machine.license_file_issued")
    )
    assert event.actor_account_id == admin.id


def test_a_license_file_never_outlives_its_license(client, license, admin, frozen_clock):
    licenses.extend_license(
        license, valid_until=date(2027, 3, 31), maintenance_until=None, actor_label="test"
    )
    machine = factories.make_machine(license, kind="offline")
    db.session.commit()
    factories.login_as(client, admin)
    text = _download_license_file(client, license, machine).get_data(as_text=True)
    document = license_files.read(text).document
    assert document["expires"] == "2027-03-31T22:00:00Z"  # midnight after the last day, Stockholm
    assert document["license"]["valid_until"] == "2027-03-31"


@pytest.mark.english
def test_no_license_file_for_a_license_that_is_no_longer_in_force(client, license, admin):
    machine = factories.make_machine(license, kind="offline")
    licenses.revoke_license(license, actor_label="test")
    db.session.commit()
    factories.login_as(client, admin)
    response = _download_license_file(client, license, machine)
    assert response.status_code == 302
    assert "revoked" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_online_machines_get_no_license_file(client, license, admin):
    machine = factories.make_machine(license)
    db.session.commit()
    factories.login_as(client, admin)
    assert _download_license_file(client, license, machine).status_code == 302


def test_the_license_file_names_the_minimum_version(client, license, admin):
    product = licenses.product_by_code("safelink")
    service.set_minimum_version(product, "6.0", date(2027, 1, 1), actor_label="test")
    machine = factories.make_machine(license, kind="offline")
    db.session.commit()
    factories.login_as(client, admin)
    text = _download_license_file(client, license, machine).get_data(as_text=True)
    assert license_files.read(text).document["minimum_version"] == {
        "version": "6.0",
        "effective_on": "2027-01-01",
    }
