"""Support has the context to answer "I can't see 6.1" without viewing as the customer: the
company page shows the license manager, the licenses (maintenance ended marked) and the recent
downloads. While support views as a customer, forms are visibly read-only."""

import re
from datetime import date, timedelta

import pytest

from portal import clock
from portal.db import db
from portal.downloads.models import DownloadRecord
from tests.factories import designate_license_manager, login_as, view_as

pytestmark = pytest.mark.english


@pytest.fixture
def company(make_company):
    return make_company("Fjällfrakt AB")


@pytest.fixture
def support(make_account):
    return make_account("support", name="Sara Support")


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_the_company_page_shows_manager_licenses_and_downloads(
    frozen_clock, client, company, support, make_account, make_license, make_release
):
    per = make_account("admin", company=company, name="Per Fjäll", email="per@fjall.example")
    designate_license_manager(per)
    make_license(
        company, "safelink", valid_from=date(2024, 1, 1), maintenance_until=date(2025, 6, 30)
    )
    release = make_release("safelink", "6.0", released_on=date(2025, 2, 3))
    db.session.add(
        DownloadRecord(
            account_id=per.id,
            company_id=company.id,
            release_file_id=release.files[0].id,
            downloaded_dt=clock.now() - timedelta(days=3),
        )
    )
    db.session.add(
        DownloadRecord(
            account_id=per.id,
            impersonator_account_id=support.id,
            company_id=company.id,
            release_file_id=release.files[0].id,
            downloaded_dt=clock.now() - timedelta(days=1),
        )
    )
    db.session.commit()
    login_as(client, support)
    page = _text(client.get(f"/staff/companies/{company.id}"))
    assert "Per Fjäll (per@fjall.example) manages the licenses" in page
    assert "2025-06-30</time> <strong>(maintenance ended)</strong>" in page
    assert "Recent downloads" in page and "SafeLink 6.0" in page
    assert "Sara Support (support), viewing as Per Fjäll" in page
    downloads = page[page.index("Recent downloads") :]
    assert downloads.index("viewing as Per Fjäll") < downloads.index('By">Per Fjäll</td>')


def test_without_a_manager_the_page_says_who_gets_the_notices(client, company, support):
    login_as(client, support)
    page = _text(client.get(f"/staff/companies/{company.id}"))
    assert "Nobody is chosen: the company's admins receive the license notices." in page
    assert "The company has downloaded nothing yet." in page


def test_forms_are_disabled_with_the_reason_while_viewing_as_a_customer(
    app, client, company, support, make_account
):
    admin = make_account("admin", company=company, name="Per Fjäll")
    member = make_account("member", company=company, name="Olle Lind")
    db.session.commit()
    view_as(client, support, admin)
    reason = "Read-only: nothing can be changed while support views the portal as a customer."
    for path in ("/account", f"/company/users/{member.id}", "/contacts/new"):
        page = _text(client.get(path))
        assert reason in page, path
        assert '<fieldset class="read-only" disabled>' in page, path
    person = _text(client.get(f"/company/users/{member.id}"))
    assert re.search(r"<button [^>]*disabled>Deactivate Olle Lind</button>", person)
    # the ways out stay usable
    assert re.search(r'<button type="submit" class="button">Stop viewing as', person)
    assert re.search(
        r'<button type="submit" class="button button-secondary">Sign out</button>', person
    )


def test_forms_are_not_disabled_for_the_customer_themselves(client, company, make_account):
    login_as(client, make_account("admin", company=company))
    page = _text(client.get("/account"))
    assert "disabled" not in page and "Read-only" not in page
