"""Companies: the organisation number in its accepted forms, stored once, and the staff admin's
pages to add a company and to end or restart its customer relationship."""

from datetime import date

import pytest
import sqlalchemy as sa

from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.companies.service import add_company, normalize_org_number
from portal.db import db
from portal.refusals import Refusal
from tests.factories import in_english, login_as, post


@pytest.mark.parametrize(
    "typed",
    ["556016-0680", "5560160680", "16556016-0680", "165560160680", " 16 556016-0680 "],
)
def test_an_organisation_number_is_accepted_in_its_10_and_12_digit_forms(typed):
    assert normalize_org_number(typed) == "556016-0680"


@pytest.mark.parametrize(
    "typed",
    [
        "556016-0681",  # wrong check digit
        "16556016-0681",
        "19556016-0680",  # only the 16 prefix marks a legal person's 12-digit form
        "1655601606",
        "55601606801",
        "SE556016068001",
        "",
    ],
)
def test_anything_else_is_refused_beside_the_field(typed):
    with pytest.raises(Refusal) as refused:
        normalize_org_number(typed)
    assert (refused.value.field, refused.value.code) == ("org_number", "invalid_org_number")


def test_the_12_digit_form_of_an_existing_company_is_a_duplicate(app_ctx):
    company = add_company("Kund AB", "556016-0680", actor_label="test")
    assert company.org_number == "556016-0680"
    with pytest.raises(Refusal) as refused:
        add_company("Kopia AB", "16556016-0680", actor_label="test")
    assert refused.value.code == "duplicate_org_number"


# The staff admin's pages ------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, make_account):
    login_as(in_english(client), make_account("staff_admin"))
    return client


def _company(name: str) -> Company | None:
    return db.session.scalar(sa.select(Company).where(Company.name == name))


def _events(action: str) -> list[AuditEvent]:
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_staff_admin_adds_a_company_with_the_12_digit_number(admin_client):
    page = admin_client.get("/staff/companies").get_data(as_text=True)
    assert 'href="/staff/companies/new"' in page
    response = post(
        admin_client,
        "/staff/companies/new",
        {"name": "  Nya Kunden AB ", "org_number": "16556016-0680"},
        page="/staff/companies/new",
    )
    company = _company("Nya Kunden AB")
    assert company.org_number == "556016-0680"
    assert response.headers["Location"] == f"/staff/companies/{company.id}"
    [event] = _events("company.created")
    assert event.subject_id == company.id and event.actor_account_id is not None


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("556016-0681", "is not a valid Swedish organisation number"),
        ("", "Enter the organisation number."),
    ],
)
def test_a_bad_number_is_refused_beside_its_field_with_the_input_kept(
    admin_client, number, message
):
    response = post(
        admin_client,
        "/staff/companies/new",
        {"name": "Felaktig AB", "org_number": number},
        page="/staff/companies/new",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in html
    assert 'value="Felaktig AB"' in html
    assert _company("Felaktig AB") is None


def test_a_number_that_exists_in_another_form_is_refused(admin_client, make_company):
    existing = make_company("Första AB")
    db.session.commit()
    twelve_digits = "16" + existing.org_number
    html = post(
        admin_client,
        "/staff/companies/new",
        {"name": "Andra AB", "org_number": twelve_digits},
        page="/staff/companies/new",
    ).get_data(as_text=True)
    assert f"A company with organisation number {existing.org_number} already exists." in html
    assert _company("Andra AB") is None


def test_a_staff_admin_ends_and_restarts_a_relationship(admin_client, make_company):
    company = make_company("Avslutad AB")
    db.session.commit()
    page = admin_client.get(f"/staff/companies/{company.id}").get_data(as_text=True)
    assert f'href="/staff/companies/{company.id}/end"' in page
    response = post(
        admin_client,
        f"/staff/companies/{company.id}/end",
        {"ended_on": "2026-06-30"},
        page=f"/staff/companies/{company.id}/end",
    )
    assert response.headers["Location"] == f"/staff/companies/{company.id}"
    db.session.refresh(company)
    assert company.relationship_ended_on == date(2026, 6, 30)
    shown = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Its login accounts are removed on 2028-06-30." in shown
    assert [e.details for e in _events("company.relationship_ended")] == [
        {"ended_on": "2026-06-30"}
    ]

    confirm = admin_client.get(f"/staff/companies/{company.id}/restart").get_data(as_text=True)
    assert "Restarting it clears that day" in confirm
    post(
        admin_client,
        f"/staff/companies/{company.id}/restart",
        page=f"/staff/companies/{company.id}",
    )
    db.session.refresh(company)
    assert company.relationship_ended_on is None
    assert len(_events("company.relationship_restarted")) == 1


def test_an_end_without_a_day_is_a_form_error(admin_client, make_company):
    company = make_company("Utan Datum AB")
    db.session.commit()
    response = post(
        admin_client,
        f"/staff/companies/{company.id}/end",
        {"ended_on": ""},
        page=f"/staff/companies/{company.id}/end",
    )
    assert response.status_code == 200
    assert "Enter the day the relationship ended." in response.get_data(as_text=True)
    db.session.refresh(company)
    assert company.relationship_ended_on is None


def test_restarting_a_customer_is_refused_on_the_page_and_the_command_line(
    admin_client, runner, make_company
):
    company = make_company("Kund Redan AB")
    db.session.commit()
    response = post(
        admin_client,
        f"/staff/companies/{company.id}/restart",
        page=f"/staff/companies/{company.id}",
        follow_redirects=True,
    )
    assert "Kund Redan AB is a customer; there is no ended relationship to restart." in (
        response.get_data(as_text=True)
    )
    result = runner.invoke(args=["company", "restart", str(company.id)])
    assert result.exit_code != 0
    assert "no ended relationship to restart" in result.output
    assert _events("company.relationship_restarted") == []


def test_support_cannot_see_the_pages(client, make_account, make_company):
    company = make_company()
    login_as(client, make_account("support"))
    assert client.get("/staff/companies/new").status_code == 404
    assert client.get(f"/staff/companies/{company.id}/end").status_code == 404
    page = client.get(f"/staff/companies/{company.id}").get_data(as_text=True)
    assert "/end" not in page


def test_support_finds_a_company_by_its_12_digit_number(client, make_account, make_company):
    company = make_company("Sökbar AB")
    login_as(client, make_account("support"))
    page = client.get("/staff/companies", query_string={"q": "16" + company.org_number})
    assert "Sökbar AB" in page.get_data(as_text=True)
