"""Support finds companies and accounts and reads them: `/staff/companies`, `/staff/accounts`."""

import re

import pytest

from portal.db import db
from portal.licenses import keys
from tests.factories import in_english, login_as, make_contact, make_license, post, view_as


@pytest.fixture
def staff_client(client, make_account):
    login_as(client, make_account("support", name="Sven Support"))
    return in_english(client)


@pytest.fixture
def acme(make_company, make_account):
    company = make_company("Acme Betalningar AB")
    make_account("admin", company=company, email="karin@acme.example", name="Karin Admin")
    return company


@pytest.fixture
def other(make_company):
    return make_company("Nordfil AB")


def _company_links(page: str) -> list[str]:
    """The companies found (the table before the accounts found)."""
    companies = page.split("Customer accounts matching")[0]
    return re.findall(r'href="/staff/companies/\d+">([^<]+)</a>', companies)


def test_search_by_company_name(staff_client, acme, other):
    db.session.commit()
    page = staff_client.get("/staff/companies?q=betalning").get_data(as_text=True)
    assert _company_links(page) == ["Acme Betalningar AB"]


@pytest.mark.parametrize("form", ["with hyphen", "digits only"])
def test_search_by_organisation_number(staff_client, acme, other, form):
    db.session.commit()
    query = acme.org_number if form == "with hyphen" else acme.org_number.replace("-", "")
    page = staff_client.get(f"/staff/companies?q={query}").get_data(as_text=True)
    assert _company_links(page) == ["Acme Betalningar AB"]


def test_search_by_login_email_finds_the_company_and_the_account(staff_client, acme, other):
    db.session.commit()
    page = staff_client.get("/staff/companies?q=KARIN@acme").get_data(as_text=True)
    assert _company_links(page) == ["Acme Betalningar AB"]
    assert "karin@acme.example" in page
    assert re.search(r'href="/staff/accounts/\d+">karin@acme.example</a>', page)


def test_search_by_contact_email(staff_client, acme, other):
    make_contact(other, email="faktura@nordfil.example")
    db.session.commit()
    page = staff_client.get("/staff/companies?q=faktura@nordfil").get_data(as_text=True)
    assert _company_links(page) == ["Nordfil AB"]


def test_a_search_without_matches_says_so(staff_client, acme):
    db.session.commit()
    page = staff_client.get("/staff/companies?q=zzz-nothing").get_data(as_text=True)
    assert _company_links(page) == []
    assert "No company matches" in page


def test_a_search_treats_wildcards_as_text(staff_client, acme, other):
    db.session.commit()
    page = staff_client.get("/staff/companies?q=%25").get_data(as_text=True)
    assert _company_links(page) == []


def test_an_empty_search_lists_every_company(staff_client, acme, other):
    db.session.commit()
    page = staff_client.get("/staff/companies").get_data(as_text=True)
    assert {"Acme Betalningar AB", "Nordfil AB"} <= set(_company_links(page))


def test_the_company_page_shows_license_keys_masked_only(staff_client, acme):
    license = make_license(acme)
    db.session.commit()
    page = staff_client.get(f"/staff/companies/{acme.id}").get_data(as_text=True)
    assert keys.mask(license.key) in page
    assert license.key not in page


def test_the_company_page_lists_users_contacts_and_recent_activity(staff_client, acme):
    make_contact(acme, email="teknik@acme.example", name="Tekla Teknik")
    db.session.commit()
    page = staff_client.get(f"/staff/companies/{acme.id}").get_data(as_text=True)
    assert re.search(r'href="/staff/accounts/\d+">karin@acme.example</a>', page)
    assert "Tekla Teknik" in page and "teknik@acme.example" in page
    assert "Recent activity" in page and "created the account of" in page


def test_the_company_page_of_an_unknown_company_is_not_found(staff_client):
    assert staff_client.get("/staff/companies/987654").status_code == 404


def test_the_account_page_offers_to_view_the_portal_as_the_account(staff_client, acme):
    db.session.commit()
    karin = acme_account(acme)
    page = staff_client.get(f"/staff/accounts/{karin.id}").get_data(as_text=True)
    assert f'action="/staff/accounts/{karin.id}/impersonate"' in page
    assert "View the portal as Karin Admin" in page
    assert 'name="reason"' in page


def test_the_account_page_of_a_staff_account_offers_no_view(staff_client, make_account):
    colleague = make_account("support", name="Kollega")
    db.session.commit()
    page = staff_client.get(f"/staff/accounts/{colleague.id}").get_data(as_text=True)
    assert "/impersonate" not in page
    assert "Staff accounts cannot be viewed as" in page


def test_the_account_page_lists_earlier_views(client, make_account, acme):
    karin = acme_account(acme)
    support = make_account("support", name="Sven Support")
    db.session.commit()
    view_as(client, support, karin, reason="ÄRENDE-9000")
    stopped = post(client, "/impersonation/stop")
    page = in_english(client).get(stopped.headers["Location"]).get_data(as_text=True)
    assert "Earlier views as Karin Admin" in page
    assert "ÄRENDE-9000" in page and "Sven Support" in page and "Stopped" in page


def acme_account(company):
    from portal.members import service as members

    return members.company_accounts(company.id)[0]
