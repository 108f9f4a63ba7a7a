"""Minimum versions: staff admins set the oldest version a product may run and the day it takes
effect; customers see their older machines on the start page, staff see them across companies."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.db import db
from portal.licenses import service as licenses
from portal.machines import service
from portal.machines.models import MinimumVersion
from tests import factories


@pytest.fixture
def safelink(app_ctx):
    return licenses.product_by_code("safelink")


@pytest.mark.english
def test_a_staff_admin_sets_the_minimum_version_and_the_day(client, safelink, make_account):
    staff = make_account("staff_admin")
    db.session.commit()
    factories.login_as(client, staff)
    path = f"/staff/machines/products/{safelink.id}/minimum-version"
    response = factories.post(
        client, path, {"version": "6.0", "effective_on": "2027-01-01"}, page=path
    )
    assert response.status_code == 302
    minimum = db.session.scalar(sa.select(MinimumVersion))
    assert (minimum.version, minimum.effective_on) == ("6.0", date(2027, 1, 1))
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "product.minimum_version_set")
    )
    assert event.actor_account_id == staff.id
    page = client.get("/staff/machines/").get_data(as_text=True)
    assert "6.0" in page and "2027-01-01" in page


@pytest.mark.english
def test_a_minimum_version_must_be_a_version(client, safelink, make_account):
    factories.login_as(client, make_account("staff_admin"))
    path = f"/staff/machines/products/{safelink.id}/minimum-version"
    response = factories.post(
        client, path, {"version": "six", "effective_on": "2027-01-01"}, page=path
    )
    assert response.status_code == 200
    assert "Write the version as numbers and dots" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(MinimumVersion.id))) == 0


def test_a_staff_admin_removes_the_minimum(client, safelink, make_account):
    service.set_minimum_version(safelink, "6.0", date(2027, 1, 1), actor_label="test")
    db.session.commit()
    factories.login_as(client, make_account("staff_admin"))
    path = f"/staff/machines/products/{safelink.id}/minimum-version/remove"
    assert factories.post(client, path, page="/staff/machines/").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(MinimumVersion.id))) == 0


def test_support_sees_the_minimums_but_cannot_set_them(client, safelink, make_account):
    factories.login_as(client, make_account("support"))
    assert client.get("/staff/machines/").status_code == 200
    path = f"/staff/machines/products/{safelink.id}/minimum-version"
    assert client.get(path).status_code == 404


def test_versions_compare_by_their_numbers(app_ctx):
    from portal.machines import versions

    assert versions.is_older("5.4", "6.0")
    assert versions.is_older("6.9", "6.10")
    assert not versions.is_older("6.0.0", "6")
    assert sorted(["6.10", "6.9", "10.0", "5.4.3"], key=versions.sort_key) == [
        "5.4.3",
        "6.9",
        "6.10",
        "10.0",
    ]
    assert versions.from_sort_key(versions.sort_key("6.2")) == "6.2"


@pytest.mark.english
def test_the_dashboard_lists_the_companys_machines_below_the_minimum(
    client, safelink, make_company, make_license, make_account
):
    company = make_company("Gammal AB")
    license = make_license(company, seats=5)
    factories.make_machine(license, hostname="old-one", version="5.4")
    factories.make_machine(license, hostname="new-one", version="6.1")
    other = make_license(make_company(), seats=5)
    factories.make_machine(other, hostname="someone-elses", version="5.0")
    service.set_minimum_version(
        safelink, "6.0", clock.today() + timedelta(days=30), actor_label="test"
    )
    member = make_account("member", company=company)
    db.session.commit()
    factories.login_as(client, member)
    page = client.get("/").get_data(as_text=True)
    assert "1 machine runs a version that must be upgraded:" in page
    assert "old-one" in page
    assert "new-one" not in page and "someone-elses" not in page
    assert "SafeLink 6.0 or newer is required from" in page


@pytest.mark.english
def test_the_dashboard_says_nothing_without_older_machines(
    client, safelink, make_company, make_license, make_account
):
    company = make_company()
    factories.make_machine(make_license(company), version="6.1")
    service.set_minimum_version(safelink, "6.0", clock.today(), actor_label="test")
    member = make_account("member", company=company)
    db.session.commit()
    factories.login_as(client, member)
    assert "must be upgraded" not in client.get("/").get_data(as_text=True)


@pytest.mark.english
def test_staff_see_the_older_machines_across_companies(
    client, safelink, make_company, make_license, make_account
):
    for name, versions_run in (("Ett AB", ["5.4", "5.2", "6.1"]), ("Två AB", ["5.9"])):
        license = make_license(make_company(name), seats=5)
        for version in versions_run:
            factories.make_machine(license, version=version)
    service.set_minimum_version(safelink, "6.0", clock.today(), actor_label="test")
    db.session.commit()
    rows = service.outdated_by_company()
    assert [(row.company, row.machines) for row in rows] == [("Ett AB", 2), ("Två AB", 1)]
    factories.login_as(client, make_account("support"))
    page = client.get("/staff/machines/").get_data(as_text=True)
    assert "Ett AB" in page and "5.2" in page and "Två AB" in page


def test_the_dashboards_list_costs_one_query(safelink, make_company, make_license):
    company = make_company()
    license = make_license(company, seats=50)
    for number in range(30):
        factories.make_machine(license, version="5.4", fingerprint=f"fp-dash-{number:05d}")
    service.set_minimum_version(safelink, "6.0", clock.today(), actor_label="test")
    db.session.flush()
    with factories.count_queries() as queries:
        shown, total = service.outdated_machines_of_company(company.id)
    assert (len(shown), total) == (service.DASHBOARD_OUTDATED_LIMIT, 30)
    assert len(queries) == 1
