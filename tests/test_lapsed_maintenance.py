"""Lapsed maintenance is no dead end: the license says when maintenance ended, the downloads page
says which newer releases exist and why they are not offered, and both say where to renew
(PORTAL_SALES_EMAIL)."""

import re
from datetime import date, timedelta

import pytest

from portal import clock
from portal.config import ConfigurationError, settings_from_environment
from portal.db import db
from tests.factories import login_as

SALES = "salj@leverantor.example"
pytestmark = pytest.mark.english


@pytest.fixture
def sales_email(app, monkeypatch):
    monkeypatch.setitem(app.config, "PORTAL_SALES_EMAIL", SALES)
    return SALES


@pytest.fixture
def company(make_company):
    return make_company("Fjällfrakt AB")


@pytest.fixture
def member_client(client, company, make_account):
    login_as(client, make_account("member", company=company))
    return client


@pytest.fixture
def lapsed(frozen_clock, company, make_license, make_release):
    """A license in force whose maintenance ended before SafeLink 6.1 came out."""
    today = clock.today()
    license = make_license(
        company,
        "safelink",
        valid_from=date(2024, 1, 1),
        valid_until=today + timedelta(days=200),
        maintenance_until=date(2025, 6, 30),
    )
    make_release("safelink", "6.0", released_on=date(2025, 2, 3))
    make_release("safelink", "6.1", released_on=today - timedelta(days=40))
    db.session.commit()
    return license


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_license_says_its_maintenance_ended_and_where_to_renew(
    member_client, lapsed, sales_email
):
    page = _text(member_client.get(f"/licenses/{lapsed.id}"))
    assert "Maintenance ended on 2025-06-30." in page
    assert f'To renew, write to <a href="mailto:{SALES}">{SALES}</a>.' in page
    listing = _text(member_client.get("/licenses/"))
    assert "2025-06-30</time> <strong>(maintenance ended)</strong>" in listing


def test_the_downloads_page_names_the_newer_release_and_why_it_is_not_offered(
    member_client, lapsed, sales_email
):
    page = _text(member_client.get("/downloads/"))
    assert "SafeLink 6.0" in page  # still offered
    released = (clock.today() - timedelta(days=40)).isoformat()
    assert (
        f"SafeLink 6.1, released on {released}: your maintenance ended on 2025-06-30,"
        " so it is not offered." in page
    )
    assert f'href="mailto:{SALES}"' in page
    assert "Download safelink-6.1.zip" not in page


def test_an_ended_license_says_so_on_the_downloads_page(
    frozen_clock, member_client, company, make_license, make_release
):
    make_license(
        company,
        "secure-envelope",
        valid_from=date(2024, 1, 1),
        valid_until=clock.today() - timedelta(days=10),
    )
    make_release("secure-envelope", "1.8", released_on=date(2025, 11, 10))
    db.session.commit()
    page = _text(member_client.get("/downloads/"))
    ended = (clock.today() - timedelta(days=10)).isoformat()
    assert (
        f"Nordea Secure Envelope: your license ended on {ended}, so none of its releases is"
        " offered." in page
    )
    assert "To renew, contact your contact person at the vendor." in page  # no address set


def test_a_company_with_current_maintenance_sees_no_such_note(
    frozen_clock, member_client, company, make_license, make_release
):
    make_license(company, "safelink", maintenance_until=None)
    make_release("safelink", "6.1")
    db.session.commit()
    page = _text(member_client.get("/downloads/"))
    assert "do not include" not in page


def test_the_sales_address_must_be_an_address():
    assert settings_from_environment({"PORTAL_SALES_EMAIL": "salj@x.se"})["PORTAL_SALES_EMAIL"]
    with pytest.raises(ConfigurationError, match="PORTAL_SALES_EMAIL"):
        settings_from_environment({"PORTAL_SALES_EMAIL": "sales at example"})
