"""The activity log: sentences in the reader's language naming the object, never a code or a
pseudonym, filtered by kind and person, exported as CSV for the company admin, the same for
support, and a bounded number of queries."""

import ast
import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

import portal
from portal.activity.sentences import SENTENCES
from portal.audit import AuditEvent
from portal.db import db
from portal.members import service as members
from portal.signin.service import FAILED_ACTION
from tests.factories import count_queries, in_english, login, login_as, post


@pytest.fixture
def company(make_company):
    return make_company("Nordisk Betalservice AB")


@pytest.fixture
def admin(company, make_account):
    return make_account("admin", company=company, name="Karin Ek")


@pytest.fixture
def anna(company, make_account):
    return make_account("member", company=company, name="Anna Berg")


@pytest.fixture
def admin_client(client, admin):
    login_as(client, admin)
    return client


def _text(response) -> str:
    html = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html)


def _recorded_actions() -> set[str]:
    """Every action the portal's code records (the first argument of `audit.record`)."""
    actions = {FAILED_ACTION}
    for path in Path(portal.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                actions.add(node.args[0].value)
    return actions | {"impersonation.started", "impersonation.stopped", "impersonation.expired"}


def test_every_action_the_portal_records_has_a_sentence():
    missing = sorted(_recorded_actions() - SENTENCES.keys())
    assert not missing, f"add sentences to portal/activity/sentences.py for {missing}"


def test_the_log_names_who_did_what_to_which_object_in_swedish_and_english(
    admin_client, admin, company, make_license
):
    license = make_license(company, "safelink-pfr", seats=25)
    db.session.commit()
    post(admin_client, f"/licenses/{license.id}/reveal", page=f"/licenses/{license.id}")
    page = _text(admin_client.get("/company/activity"))
    assert "Karin Ek visade nyckeln till SafeLink PFR, 25 platser." in page
    in_english(admin_client)
    page = _text(admin_client.get("/company/activity"))
    assert "Karin Ek revealed the key of SafeLink PFR, 25 seats." in page
    assert "Karin Ek signed in." in page
    for code in ("license.key_revealed", "login.succeeded", "success", "anonymous"):
        assert code not in page


def test_a_failed_sign_in_and_a_refusal_read_as_sentences(client, admin, anna):
    login(client, anna.email, "not the password")
    login_as(in_english(client), admin)
    page = _text(client.get("/company/activity"))
    assert "Someone tried to sign in as Anna Berg with a wrong password. Failed" in page


def test_a_removed_person_is_never_shown_by_a_pseudonym(admin_client, admin, anna):
    anna_client = admin_client.application.test_client()
    login_as(anna_client, anna)  # an event Anna did
    members.remove(admin, anna)
    db.session.commit()
    in_english(admin_client)
    page = _text(admin_client.get("/company/activity"))
    assert "pseudonym:" not in page
    assert "Karin Ek removed the login of a removed person." in page
    assert "A removed person signed in." in page
    assert "created the account of a removed person." in page


def test_the_log_filters_by_kind_and_by_person(admin_client, admin, anna, company, make_license):
    license = make_license(company, "safelink")
    db.session.commit()
    post(admin_client, f"/licenses/{license.id}/reveal", page=f"/licenses/{license.id}")
    anna_client = admin_client.application.test_client()
    login_as(anna_client, anna)
    in_english(admin_client)

    licenses_only = _text(admin_client.get("/company/activity", query_string={"kind": "licenses"}))
    assert "revealed the key of SafeLink" in licenses_only
    assert "signed in." not in licenses_only

    annas = _text(admin_client.get("/company/activity", query_string={"person": anna.id}))
    assert "Anna Berg signed in." in annas
    assert "Karin Ek signed in." not in annas
    assert "revealed the key" not in annas

    both = _text(
        admin_client.get("/company/activity", query_string={"person": anna.id, "kind": "licenses"})
    )
    assert "Nothing yet." in both
    # unknown values are ignored, not an error
    assert admin_client.get("/company/activity?kind=nonsense&person=abc").status_code == 200


def test_the_admin_exports_the_filtered_log_as_csv(admin_client, admin, anna, company):
    anna_client = admin_client.application.test_client()
    login_as(anna_client, anna)
    anna.name = "=HYPERLINK(1)"  # a name a spreadsheet would read as a formula
    db.session.commit()
    in_english(admin_client)
    response = admin_client.get("/company/activity/export", query_string={"kind": "sign_ins"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["When", "Who", "What happened", "Result"]
    sentences = [row[2] for row in rows[1:]]
    assert "'=HYPERLINK(1) signed in." in sentences
    assert "Karin Ek signed in." in sentences
    assert all("created the account" not in sentence for sentence in sentences)
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "activity.exported")
    ).all()
    assert (event.actor_account_id, event.company_id) == (admin.id, company.id)
    assert event.details == {"kind": "sign_ins"}


def test_a_member_cannot_export(client, anna):
    login_as(client, anna)
    assert client.get("/company/activity/export").status_code == 403


@pytest.mark.english
def test_support_reads_the_same_sentences_on_the_company_pages(
    client, admin, company, make_account
):
    support = make_account("support", name="Sara Support")
    login_as(client, support)
    overview = _text(client.get(f"/staff/companies/{company.id}"))
    assert "created the account of Karin Ek." in overview
    page = _text(
        client.get(f"/staff/companies/{company.id}/activity", query_string={"kind": "users"})
    )
    assert "created the account of Karin Ek." in page
    assert "Sara Support (support) signed in." not in page


def test_the_page_asks_a_bounded_number_of_queries(
    admin_client, admin, anna, company, make_license, make_account
):
    def queries() -> int:
        with count_queries() as counted:
            assert admin_client.get("/company/activity").status_code == 200
        return len(counted)

    few = queries()
    for n in range(15):
        license = make_license(company, "safelink", seats=n + 1)
        make_account("member", company=company, name=f"Person {n}")
        db.session.commit()
        post(admin_client, f"/licenses/{license.id}/reveal", page=f"/licenses/{license.id}")
    assert queries() <= few + 4  # licenses, products and contacts appear: one query each at most
