"""A company admin erases a person: login and personal contacts go, the audit trail forgets who."""

import hashlib
import hmac
import json

import pytest
import sqlalchemy as sa

from portal import audit, clock
from portal.accounts import tokens
from portal.accounts.models import Account, AccountToken, LoginSession
from portal.audit import AuditEvent
from portal.contacts import consent, erasure
from portal.contacts.disclosures import DisclosureRequest, record_disclosure
from portal.contacts.models import ConsentRecord, Contact, Disclosure, RecipientKind, RecordedBy
from portal.db import db
from portal.downloads.models import DownloadRecord
from tests.factories import in_english, login_as, make_contact, post


@pytest.fixture
def admin(client, make_account):
    account = make_account("admin", email="admin@example.com")
    login_as(in_english(client), account)
    return account


def _exists(model, id_) -> bool:
    db.session.expire_all()
    return db.session.get(model, id_) is not None


def _erase(client, account_id):
    return post(client, f"/contacts/erase/{account_id}", page="/contacts/")


def test_erasing_deletes_the_login_and_the_personal_contacts(client, admin, make_account):
    person = make_account("member", company=admin.company, email="person@example.com")
    personal = make_contact(admin.company, email="person@example.com")
    consent.give(person, version=1, language="sv", recorded_by=person, as_role=RecordedBy.SELF)
    consent.give(personal, version=1, language="sv", recorded_by=admin, as_role=RecordedBy.SELF)
    tokens.issue(person, tokens.TokenPurpose.PASSWORD_RESET)
    login_as(client.application.test_client(), person)
    db.session.flush()
    person_id, personal_id = person.id, personal.id

    page = client.get(f"/contacts/erase/{person_id}").get_data(as_text=True)
    assert "person@example.com" in page
    assert "Yes, erase all personal data" in page
    response = _erase(client, person_id)
    assert response.status_code == 302

    assert not _exists(Account, person_id)
    assert not _exists(Contact, personal_id)
    for column in (
        LoginSession.account_id,
        AccountToken.account_id,
        ConsentRecord.account_id,
    ):
        assert db.session.scalar(sa.select(sa.func.count()).where(column == person_id)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0


def test_the_erased_persons_browser_is_signed_out(client, admin, make_account):
    person = make_account("member", company=admin.company)
    their_browser = client.application.test_client()
    login_as(their_browser, person)
    assert their_browser.get("/").status_code == 200
    _erase(client, person.id)
    assert their_browser.get("/").status_code == 302


def test_accounting_records_are_kept_and_the_page_says_why(client, admin, make_account):
    person = make_account("member", company=admin.company, email="person@example.com")
    record = make_contact(
        admin.company,
        email="person@example.com",
        invoice_reference=True,
        is_accounting_record=True,
    )
    person_id = person.id
    page = client.get(f"/contacts/erase/{person_id}").get_data(as_text=True)
    assert "Kept: accounting records" in page
    assert "Bookkeeping Act" in page
    assert "7 years after the end of the calendar year" in page
    assert "#purpose-invoicing" in page
    _erase(client, person_id)
    assert _exists(Contact, record.id)
    assert not _exists(Account, person_id)


def test_another_persons_contacts_and_function_addresses_stay(client, admin, make_account):
    person = make_account("member", company=admin.company, email="person@example.com")
    other = make_contact(admin.company, email="someone.else@example.com")
    from portal.accounts.models import AccountKind

    function = make_contact(admin.company, email="desk@example.com", kind=AccountKind.FUNCTION)
    _erase(client, person.id)
    assert _exists(Contact, other.id)
    assert _exists(Contact, function.id)


def test_audit_events_keep_what_happened_and_lose_who(client, app, admin, make_account):
    person = make_account("member", company=admin.company, email="person@example.com")
    person_id = person.id
    own = audit.record("test.own", actor=person, subject=person, subject_label=person.email)
    audit.record("invitation.sent", actor=admin, subject=person, subject_label="person@example.com")
    audit.record("impersonation.started", actor=admin, acting_as=person, subject=admin)
    audit.record("something", actor=admin, subject_label="Person@Example.com")
    own.ip_address = "192.0.2.7"
    db.session.flush()
    _erase(client, person_id)

    expected = (
        "pseudonym:"
        + hmac.new(
            app.config["SECRET_KEY"].encode(), str(person_id).encode(), hashlib.sha256
        ).hexdigest()[:12]
    )
    db.session.expire_all()
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert not [e for e in events if e.actor_account_id == person_id]
    assert not [e for e in events if e.subject_type == "Account" and e.subject_id == person_id]
    assert not [e for e in events if e.acting_as_account_id == person_id]
    login = next(e for e in events if e.action == "test.own")
    assert (login.actor_label, login.subject_label, login.ip_address) == (expected, expected, None)
    invitation = next(e for e in events if e.action == "invitation.sent")
    assert invitation.actor_account_id == admin.id
    assert invitation.subject_label == expected
    impersonation = next(e for e in events if e.action == "impersonation.started")
    assert impersonation.details["acting_as"] == expected
    assert next(e for e in events if e.action == "something").subject_label is None
    erased = next(e for e in events if e.action == "account.erased")
    assert (erased.subject_type, erased.subject_label) == ("Account", expected)
    trail = json.dumps([[e.actor_label, e.subject_label, e.details] for e in events]).lower()
    assert "person@example.com" not in trail


def test_the_pseudonym_is_stable_and_depends_on_the_secret_key(app, app_ctx):
    first = erasure.pseudonym(42)
    assert first == erasure.pseudonym(42)
    assert first != erasure.pseudonym(43)
    saved = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another key"
    try:
        assert erasure.pseudonym(42) != first
    finally:
        app.config["SECRET_KEY"] = saved


def test_disclosures_and_downloads_keep_the_fact_and_lose_the_person(
    client, admin, make_account, make_release
):
    person = make_account("member", company=admin.company)
    support = make_account("support")
    release = make_release("safelink")
    download = DownloadRecord(
        account_id=person.id, company_id=admin.company_id, release_file_id=release.files[0].id
    )
    db.session.add(download)
    disclosure = record_disclosure(
        admin.company,
        person,
        DisclosureRequest(
            recipient_kind=RecipientKind.AUTHORITY,
            recipient_name="Polisen",
            data_disclosed="login history",
            disclosed_on=clock.today(),
            decision_reference="Dnr 7",
        ),
        actor=support,
    )
    db.session.flush()
    _erase(client, person.id)
    db.session.expire_all()
    assert db.session.get(Disclosure, disclosure.id).account_id is None
    assert db.session.get(DownloadRecord, download.id).account_id is None


def test_an_admin_cannot_erase_themselves(client, admin, make_account):
    make_account("admin", company=admin.company)
    page = client.get(f"/contacts/erase/{admin.id}").get_data(as_text=True)
    assert "You cannot erase yourself." in page
    assert _erase(client, admin.id).status_code == 409
    assert _exists(Account, admin.id)


def test_another_admin_can_be_erased(client, admin, make_account):
    other_admin = make_account("admin", company=admin.company)
    assert _erase(client, other_admin.id).status_code == 302
    assert not _exists(Account, other_admin.id)


def test_the_last_active_admin_cannot_be_erased(app, make_account):
    last_admin = make_account("admin")
    make_account("admin", company=last_admin.company).is_active = False
    member = make_account("member", company=last_admin.company)
    db.session.flush()
    with app.test_request_context(headers={"Accept-Language": "en"}):
        problem = erasure.erasure_problem(last_admin, member)
        assert problem is not None
        assert "last administrator" in str(problem)


def test_the_person_holding_the_last_contract_party_is_not_erased(client, admin, make_account):
    person = make_account("member", company=admin.company, email="person@example.com")
    make_contact(admin.company, email="person@example.com", contract_party=True)
    response = _erase(client, person.id)
    assert response.status_code == 409
    assert "The company must keep a contract party." in response.get_data(as_text=True)
    assert _exists(Account, person.id)


def test_a_person_of_another_company_is_not_found(client, admin, make_account):
    outsider = make_account("member")
    assert client.get(f"/contacts/erase/{outsider.id}").status_code == 404
    assert _erase(client, outsider.id).status_code == 404
    assert _exists(Account, outsider.id)


def test_a_member_cannot_erase_anybody(client, make_account):
    member = make_account("member")
    colleague = make_account("member", company=member.company)
    login_as(client, member)
    assert _erase(client, colleague.id).status_code == 403
    assert _exists(Account, colleague.id)
