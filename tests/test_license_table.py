"""The license list's table is rendered once for each distinct content and reused after that."""

from collections import namedtuple

import pytest
from jinja2 import meta

from portal import clock
from portal.db import db
from portal.licenses import table
from portal.licenses.listing import LicenseQuery
from tests.factories import in_english, login_as


@pytest.fixture(autouse=True)
def empty_cache():
    table._render.cache_clear()
    yield
    table._render.cache_clear()


def table_renders() -> int:
    """How many tables have been rendered (not taken from the cache) in this test."""
    return table._render.cache_info().misses


@pytest.fixture
def company(make_company):
    return make_company("Tabell och Cache AB")


@pytest.fixture
def member_client(client, company, make_account):
    login_as(in_english(client), make_account("member", company=company))
    return client


def test_the_same_rows_are_rendered_once_and_served_from_the_cache_after(
    member_client, company, make_license
):
    make_license(company, "safelink")
    make_license(company, "secure-envelope")
    db.session.commit()
    first = member_client.get("/licenses/").get_data(as_text=True)
    second = member_client.get("/licenses/").get_data(as_text=True)
    assert table_renders() == 1
    assert first == second
    assert first.count('<th scope="row">') == 2


def test_a_changed_license_shows_at_once(member_client, company, make_license):
    license = make_license(company, "safelink", seats=5)
    db.session.commit()
    assert "<td>5</td>" in member_client.get("/licenses/").get_data(as_text=True)
    license.seats = 12
    license.revoked_dt = clock.now()
    db.session.commit()
    html = member_client.get("/licenses/").get_data(as_text=True)
    assert "<td>12</td>" in html
    assert "state-revoked" in html
    assert table_renders() == 2


def test_each_language_has_its_own_table(member_client, company, make_license):
    make_license(company, "safelink", valid_until=None)
    db.session.commit()
    english = member_client.get("/licenses/").get_data(as_text=True)
    member_client.set_cookie("portal_lang", "sv")
    swedish = member_client.get("/licenses/").get_data(as_text=True)
    assert "<caption>1 license</caption>" in english
    assert "Perpetual" in english
    assert "<caption>1 licens</caption>" in swedish
    assert "Perpetual" not in swedish


def test_the_table_template_uses_its_inputs_alone(app):
    """Nothing of the signed-in user or the request can reach a table that others are shown."""
    env = app.jinja_env
    source, _, _ = env.loader.get_source(env, "portal/licenses/table.html")
    used = meta.find_undeclared_variables(env.parse(source))
    assert used <= {"rows", "list_url", "mask", "state_labels", "_", "ngettext"}


def test_another_companys_identical_looking_list_is_not_mixed_up(
    app, member_client, company, make_company, make_account, make_license
):
    """Rows carry the license ids and keys, so two companies never share a cached table."""
    other = make_company("Annan Firma AB")
    mine = make_license(company, "safelink")
    theirs = make_license(other, "safelink")
    db.session.commit()
    other_client = app.test_client()
    login_as(in_english(other_client), make_account("member", company=other))
    my_html = member_client.get("/licenses/").get_data(as_text=True)
    their_html = other_client.get("/licenses/").get_data(as_text=True)
    assert f"/licenses/{mine.id}" in my_html and f"/licenses/{theirs.id}" not in my_html
    assert f"/licenses/{theirs.id}" in their_html and f"/licenses/{mine.id}" not in their_html


def test_the_cache_keeps_at_most_a_bounded_number_of_tables(app, company, make_license):
    make_license(company, "safelink")
    db.session.commit()
    row = db.session.execute(LicenseQuery().row_statement(company.id, clock.today())).one()
    Row = namedtuple("Row", row._fields)
    with app.test_request_context("/licenses/"):
        for seats in range(table.CACHED_TABLES + 20):
            table.license_table([Row(*row)._replace(seats=seats)])
    assert table_renders() == table.CACHED_TABLES + 20
    assert table._render.cache_info().currsize == table.CACHED_TABLES
