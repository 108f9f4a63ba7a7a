"""The dashboard answers "what needs my attention": licenses ending within 60 days, maintenance
that ended, a license manager not yet confirmed, invitations not accepted, releases reaching
their end of life; admins' items only for admins; a bounded number of queries."""

import re
from datetime import date, timedelta

import pytest

from portal import clock
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses import manager
from portal.shell import attention
from tests.factories import count_queries, login_as, make_account

pytestmark = pytest.mark.english


@pytest.fixture
def company(make_company):
    return make_company("Nordisk Betalservice AB")


@pytest.fixture
def admin(company):
    return make_account("admin", company=company, name="Karin Ek")


def _items(client) -> dict[str, str]:
    html = client.get("/").get_data(as_text=True)
    found = re.findall(r'<li class="attention-item ([a-z-]+)">(.*?)</li>', html, re.S)
    return {kind: re.sub(r"\s+", " ", text).strip() for kind, text in found}


def _everything_due(company, admin, make_license, make_release):
    today = clock.today()
    expiring = make_license(
        company,
        "safelink-pfr",
        seats=10,
        valid_from=date(2024, 1, 1),
        valid_until=today + timedelta(days=45),
    )
    make_license(
        company, "safelink", valid_from=date(2024, 1, 1), maintenance_until=date(2025, 6, 30)
    )
    old = make_release(
        "safelink", "5.4", released_on=date(2023, 3, 1), end_of_life_on=today + timedelta(days=33)
    )
    make_release("safelink", "6.1", released_on=today - timedelta(days=40))
    db.session.add(
        DownloadRecord(company_id=company.id, release_file_id=old.files[0].id, account_id=admin.id)
    )
    make_account("member", company=company, name="Olle Inbjuden", password=None)
    manager.designate_function_address(company, "licenser@nordisk.example", admin)
    db.session.commit()
    return expiring


def test_an_admin_sees_every_kind_with_a_way_forward(
    frozen_clock, client, company, admin, make_license, make_release
):
    expiring = _everything_due(company, admin, make_license, make_release)
    login_as(client, admin)
    items = _items(client)
    assert list(items) == [
        "end-of-life",
        "expiring-licenses",
        "maintenance-ended",
        "pending-manager-confirmation",
        "pending-invitations",
    ]
    ends = (clock.today() + timedelta(days=45)).isoformat()
    assert (
        f"The SafeLink PFR license (10 seats) ends on {ends}, in 45 days."
        in items["expiring-licenses"]
    )
    assert f'href="/licenses/{expiring.id}"' in items["expiring-licenses"]
    assert (
        "Maintenance of your SafeLink license ended on 2025-06-30: SafeLink 6.1 is not"
        in (items["maintenance-ended"])
    )
    assert "SafeLink 5.4 stops working on" in items["end-of-life"]
    assert "licenser@nordisk.example has not yet confirmed" in items["pending-manager-confirmation"]
    assert "1 invitation is not accepted yet: Olle Inbjuden." in items["pending-invitations"]
    assert 'href="/company/users"' in items["pending-invitations"]


def test_a_member_sees_the_license_items_but_not_the_admins(
    frozen_clock, client, company, admin, make_license, make_release
):
    _everything_due(company, admin, make_license, make_release)
    login_as(client, make_account("member", company=company))
    assert set(_items(client)) == {"end-of-life", "expiring-licenses", "maintenance-ended"}


def test_with_nothing_due_the_dashboard_says_so_and_repeats_no_menu(client, admin):
    login_as(client, admin)
    html = client.get("/").get_data(as_text=True)
    assert "Nothing needs your attention right now." in html
    assert '<ul class="cards">' not in html


def test_each_kind_is_a_function_of_the_module():
    assert [kind.__name__ for kind in attention.KINDS] == [
        "end_of_life",
        "outdated_machines",
        "expiring_licenses",
        "maintenance_ended",
        "pending_manager_confirmation",
        "pending_invitations",
    ]


def test_the_admin_dashboard_asks_a_bounded_number_of_queries(
    frozen_clock, client, company, admin, make_license, make_release
):
    login_as(client, admin)

    def queries() -> int:
        with count_queries() as counted:
            assert client.get("/").status_code == 200
        return len(counted)

    _everything_due(company, admin, make_license, make_release)
    some = queries()
    for n in range(10):
        make_license(company, "secure-envelope", valid_until=clock.today() + timedelta(days=n + 1))
        make_account("member", company=company, password=None)
    db.session.commit()
    assert queries() == some
