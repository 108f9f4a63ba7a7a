"""A page per person under /company/users/<id>: role, status, sessions and the two ways to
remove someone, named for what they do, with a warning when the person manages the licenses;
the list stays a readable table."""

import re

import pytest

from tests.factories import designate_license_manager, login_as, post


@pytest.fixture
def admin(make_account):
    return make_account("admin", name="Karin Ek")


@pytest.fixture
def anna(admin, make_account):
    return make_account("member", company=admin.company, name="Anna Berg")


@pytest.fixture
def admin_client(client, admin):
    login_as(client, admin)
    return client


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


pytestmark = pytest.mark.english


def test_the_list_links_each_person_and_holds_no_forms(admin_client, anna):
    page = _text(admin_client.get("/company/users"))
    table = page[page.index("<table") : page.index("</table>")]
    assert f'<a href="/company/users/{anna.id}">Anna Berg</a>' in table
    assert "<select" not in table and "<form" not in table and "<button" not in table


def test_the_person_page_shows_role_status_sessions_and_the_removals(app, admin_client, anna):
    browser = app.test_client()
    browser.environ_base["HTTP_USER_AGENT"] = "Firefox/140 on Linux"
    login_as(browser, anna)
    page = _text(admin_client.get(f"/company/users/{anna.id}"))
    assert "<h1>Anna Berg</h1>" in page
    assert f'action="/company/users/{anna.id}/role"' in page
    assert "Deactivate Anna Berg" in page
    assert "1 active session" in page and "Firefox/140 on Linux" in page
    assert f'href="/company/users/{anna.id}/remove">Remove the login</a>' in page
    assert f'href="/contacts/erase/{anna.id}">Erase all personal data</a>' in page
    assert f'href="/company/activity?person={anna.id}"' in page
    assert "manages the company's licenses" not in page


def test_changes_come_back_to_the_person_page(admin_client, anna):
    response = post(admin_client, f"/company/users/{anna.id}/role", {"role": "admin"})
    assert response.headers["Location"] == f"/company/users/{anna.id}"
    assert "The role of Anna Berg is changed." in _text(
        admin_client.get(response.headers["Location"])
    )
    response = post(admin_client, f"/company/users/{anna.id}/deactivate")
    assert response.headers["Location"] == f"/company/users/{anna.id}"
    assert "Deactivated: cannot sign in" in _text(admin_client.get(f"/company/users/{anna.id}"))
    response = post(admin_client, f"/company/users/{anna.id}/remove")
    assert response.headers["Location"] == "/company/users"
    assert admin_client.get(f"/company/users/{anna.id}").status_code == 404


def test_a_refusal_is_shown_on_the_person_page(admin_client, admin):
    page = _text(admin_client.get(f"/company/users/{admin.id}"))
    assert "This is your own account." in page and "Remove the login" not in page
    response = post(admin_client, f"/company/users/{admin.id}/deactivate")
    assert response.headers["Location"] == f"/company/users/{admin.id}"
    assert "You cannot do this to your own account." in _text(
        admin_client.get(f"/company/users/{admin.id}")
    )


def test_removing_the_license_manager_warns_on_every_page_that_removes(admin_client, anna):
    designate_license_manager(anna)
    warning = "Anna Berg manages the company's licenses."
    assert warning in _text(admin_client.get(f"/company/users/{anna.id}"))
    remove = _text(admin_client.get(f"/company/users/{anna.id}/remove"))
    assert warning in remove and 'href="/licenses/manager"' in remove
    assert "Remove the login of Anna Berg?" in remove
    erase = _text(admin_client.get(f"/contacts/erase/{anna.id}"))
    assert warning in erase and "Erase all personal data of Anna Berg?" in erase
    listing = _text(admin_client.get("/company/users"))
    assert "Member, manages the licenses" in listing


def test_the_two_removals_name_what_they_do(admin_client, anna):
    remove = _text(admin_client.get(f"/company/users/{anna.id}/remove"))
    assert "The company's contacts with this address stay." in remove
    assert f'href="/contacts/erase/{anna.id}">Erase all personal data</a>' in remove
    erase = _text(admin_client.get(f"/contacts/erase/{anna.id}"))
    assert f'href="/company/users/{anna.id}/remove">Remove the login</a>' in erase
    contacts = _text(admin_client.get("/contacts/"))
    assert "Erase all personal data of Anna Berg" in contacts
