"""Texts the walk-through found untranslated or wrong: role names, the retention report's origin,
news in another language than the page, Swedish plurals, the bookkeeping period and the wording
of a removal that has not happened yet."""

import re

import pytest

from portal import news
from portal.contacts.views import erased_with_records
from portal.db import db
from portal.i18n import force_language
from portal.retention import purge
from tests.factories import in_english, login_as, make_contact, post


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.english
def test_staff_roles_are_named_in_words(client, make_account):
    admin = make_account("staff_admin", name="Stefan Admin")
    support = make_account("support", name="Sara Support")
    login_as(client, admin)
    assert "Signed in as Stefan Admin (staff admin)." in _text(client.get("/"))
    page = _text(client.get(f"/staff/accounts/{support.id}"))
    assert "Staff (support)" in page
    assert "staff_admin" not in _text(client.get("/")) and "(support)" in page


@pytest.mark.english
def test_the_retention_report_says_what_started_each_run(client, make_account):
    purge.purge(dry_run=True)  # origin "command"
    db.session.commit()
    login_as(client, make_account("staff_admin"))
    page = _text(client.get("/staff/retention/"))
    assert "The command line" in page
    assert "<td>command," not in page


@pytest.mark.english
def test_news_in_swedish_says_so_on_an_english_page(client, make_account, make_company):
    news.publish("SafeLink 6.1 är här", "SafeLink 6.1 stöder ISO 20022.", actor=None)
    login_as(client, make_account("member", company=make_company()))
    page = _text(client.get("/"))
    assert '<article class="news-item" lang="sv">' in page
    assert "(In Swedish)" in page


def test_news_in_the_pages_language_needs_no_note(client, make_account, make_company):
    news.publish("SafeLink 6.1 är här", "Text.", actor=None)
    login_as(client, make_account("member", company=make_company()))
    page = _text(client.get("/"))
    assert "(På svenska)" not in page and 'lang="sv"' in page


def test_the_kept_accounting_record_is_counted_in_swedish(client, make_account):
    admin = make_account("admin")
    person = make_account("member", company=admin.company, email="person@example.com")
    make_contact(
        admin.company, email="person@example.com", invoice_reference=True, is_accounting_record=True
    )
    login_as(client, admin)
    response = post(
        client, f"/contacts/erase/{person.id}", page="/contacts/", follow_redirects=True
    )
    page = _text(response)
    assert "1 bokföringspost sparas" in page
    assert "(er)" not in page


def test_several_kept_accounting_records_read_as_a_swedish_plural(app_ctx):
    with force_language("sv"):
        assert "2 bokföringsposter sparas" in erased_with_records(2)
        assert "1 bokföringspost sparas" in erased_with_records(1)


@pytest.mark.english
def test_the_bookkeeping_period_reads_as_english(client):
    page = _text(client.get("/privacy"))
    assert "7. year" not in page
    assert "7 years after the end of the calendar year in which the financial year ended" in page


def test_the_removal_confirmation_does_not_say_it_is_done(client, make_account):
    admin = make_account("admin")
    person = make_account("member", company=admin.company, name="Olle Lind")
    login_as(client, admin)
    page = _text(client.get(f"/company/users/{person.id}/remove"))
    assert "har tagits bort" not in page
    swedish = page
    in_english(client)
    page = _text(client.get(f"/company/users/{person.id}/remove"))
    assert "is deleted" not in page and "will be deleted" in page
    assert "tas bort" in swedish


def test_staff_choose_the_language_of_a_news_item(client, make_account, make_company):
    login_as(client, make_account("staff_admin"))
    post(
        client,
        "/staff/news/new",
        {"title": "SafeLink 6.1 is out", "body": "It supports ISO 20022.", "language": "en"},
        page="/staff/news/new",
    )
    [item] = news.latest()
    assert item.language == "en"
    member_client = client.application.test_client()
    login_as(member_client, make_account("member", company=make_company()))
    page = _text(member_client.get("/"))
    assert '<article class="news-item" lang="en">' in page
    assert "(På engelska)" in page
