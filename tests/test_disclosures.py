"""Disclosures: authorities with a decision, partners with a purpose, others only with consent."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.audit import AuditEvent
from portal.contacts import consent, disclosures
from portal.contacts.models import Disclosure, RecipientKind, RecordedBy, SubjectKind
from portal.db import db
from tests.factories import in_english, login_as, make_contact, post


@pytest.fixture
def support(client, make_account):
    staff = make_account("support")
    login_as(in_english(client), staff)
    return staff


def _record(client, company, **fields):
    data = {
        "subject": "company",
        "recipient_kind": "authority",
        "recipient_name": "Polismyndigheten",
        "data_disclosed": "name and email address",
        "disclosed_on": clock.today().isoformat(),
        "decision_reference": "",
        "purpose": "",
    }
    data.update(fields)
    path = f"/staff/disclosures/new?company={company.id}"
    return post(client, path, data, page=path)


def _disclosures() -> list[Disclosure]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Disclosure).order_by(Disclosure.id)))


def _consent(person, admin):
    consent.give(person, version=1, language="sv", recorded_by=admin, as_role=RecordedBy.SELF)
    db.session.flush()


def test_a_disclosure_to_an_authority_needs_the_decision_reference(client, support, make_company):
    company = make_company()
    response = _record(client, company, recipient_name="Typed Authority")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="decision_reference-error"' in page
    assert 'value="Typed Authority"' in page
    assert _disclosures() == []


def test_a_disclosure_to_an_authority_is_recorded_and_audited(client, support, make_account):
    member = make_account("member")
    response = _record(
        client,
        member.company,
        subject=f"account:{member.id}",
        decision_reference="Beslut 2026-123",
        confidential="y",
    )
    assert response.status_code == 302
    [record] = _disclosures()
    assert record.subject_kind == SubjectKind.ACCOUNT
    assert record.account_id == member.id
    assert record.recipient_kind == RecipientKind.AUTHORITY
    assert record.decision_reference == "Beslut 2026-123"
    assert record.confidential
    assert record.recorded_by_account_id == support.id
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "disclosure.recorded")
    ).all()
    assert (event.subject_type, event.subject_id) == ("Disclosure", record.id)
    assert event.actor_account_id == support.id
    page = client.get("/staff/disclosures/").get_data(as_text=True)
    assert "Beslut 2026-123" in page
    assert "Confidential" in page


def test_a_disclosure_to_a_business_partner_needs_a_purpose(client, support, make_company):
    company = make_company()
    response = _record(client, company, recipient_kind="business_partner", recipient_name="Bank")
    assert 'id="purpose-error"' in response.get_data(as_text=True)
    assert _disclosures() == []
    response = _record(
        client,
        company,
        recipient_kind="business_partner",
        recipient_name="Bank",
        purpose="Start-up of payment files",
    )
    assert response.status_code == 302
    assert _disclosures()[0].purpose == "Start-up of payment files"


def test_a_disclosure_to_another_party_without_consent_is_refused(client, support, make_account):
    admin = make_account("admin")
    contact = make_contact(admin.company)
    response = _record(
        client,
        admin.company,
        subject=f"contact:{contact.id}",
        recipient_kind="other_party",
        recipient_name="Marketing partner",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Refused: this person has not consented" in page
    assert 'id="recipient_kind-error"' in page
    assert _disclosures() == []


def test_a_disclosure_to_another_party_with_active_consent_is_recorded(
    client, support, make_account
):
    admin = make_account("admin")
    contact = make_contact(admin.company)
    _consent(contact, admin)
    response = _record(
        client,
        admin.company,
        subject=f"contact:{contact.id}",
        recipient_kind="other_party",
        recipient_name="Marketing partner",
    )
    assert response.status_code == 302
    [record] = _disclosures()
    assert record.contact_id == contact.id
    assert record.consent_id == consent.active_consent(contact).id


def test_a_withdrawn_consent_no_longer_allows_disclosure_to_another_party(
    client, support, make_account
):
    member = make_account("member")
    _consent(member, member)
    consent.withdraw(member, recorded_by=member, as_role=RecordedBy.SELF)
    db.session.flush()
    response = _record(
        client,
        member.company,
        subject=f"account:{member.id}",
        recipient_kind="other_party",
        recipient_name="Marketing partner",
    )
    assert "Refused: this person has not consented" in response.get_data(as_text=True)
    assert _disclosures() == []


def test_data_about_a_company_goes_to_another_party_only_through_a_consenting_person(
    client, support, make_company
):
    company = make_company()
    response = _record(client, company, recipient_kind="other_party", recipient_name="Partner")
    assert "only about a person who has consented" in response.get_data(as_text=True)
    assert _disclosures() == []


def test_only_a_disclosure_to_an_authority_can_be_confidential(client, support, make_company):
    company = make_company()
    response = _record(
        client,
        company,
        recipient_kind="business_partner",
        recipient_name="Bank",
        purpose="Troubleshooting",
        confidential="y",
    )
    assert 'id="confidential-error"' in response.get_data(as_text=True)
    assert _disclosures() == []


def test_a_disclosure_cannot_be_dated_in_the_future(client, support, make_company):
    company = make_company()
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    response = _record(client, company, decision_reference="X", disclosed_on=tomorrow)
    assert 'id="disclosed_on-error"' in response.get_data(as_text=True)
    assert _disclosures() == []


def test_a_person_of_another_company_cannot_be_chosen(client, support, make_account, make_company):
    outsider = make_account("member")
    company = make_company()
    response = _record(
        client, company, subject=f"account:{outsider.id}", decision_reference="Beslut 1"
    )
    assert 'id="subject-error"' in response.get_data(as_text=True)
    assert _disclosures() == []


def test_staff_first_choose_the_company(client, support, make_company):
    company = make_company("Vald Kund AB")
    page = client.get("/staff/disclosures/new").get_data(as_text=True)
    assert "Vald Kund AB" in page
    page = client.get(f"/staff/disclosures/new?company={company.id}").get_data(as_text=True)
    assert "The company itself" in page
    assert client.get("/staff/disclosures/new?company=999999").status_code == 404


def test_support_sees_a_companys_contacts_read_only(client, support, make_account):
    admin = make_account("admin")
    contact = make_contact(admin.company, email="kontakt@example.com", phone_e164="+46701234567")
    _consent(contact, admin)
    page = client.get(f"/staff/companies/{admin.company_id}/contacts").get_data(as_text=True)
    assert "kontakt@example.com" in page
    assert "070-123 45 67" in page
    assert "given" in page
    assert "<form" not in page.split("<main", 1)[1]


# Confidential means invisible to the company until staff lift it -----------------------------


def _confidential_disclosure(admin, support):
    record = disclosures.record_disclosure(
        admin.company,
        admin,
        disclosures.DisclosureRequest(
            recipient_kind=RecipientKind.AUTHORITY,
            recipient_name="Polismyndigheten",
            data_disclosed="name and email address",
            disclosed_on=clock.today(),
            decision_reference="Dnr 5000-K123",
            confidential=True,
        ),
        actor=support,
    )
    db.session.commit()
    return record


def _activity(admin) -> list[str]:
    """The actions of the audit events the company may read (the activity page's rule)."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.company_id == admin.company_id, disclosures.readable_by_the_company()
            )
        )
    )


@pytest.fixture
def company_admin(make_account):
    return make_account("admin")


def test_a_confidential_disclosure_is_not_in_the_companys_activity(app, support, company_admin):
    record = _confidential_disclosure(company_admin, support)
    reader = app.test_client()
    login_as(in_english(reader), company_admin)
    page = reader.get("/company/activity").get_data(as_text=True)
    assert "a disclosure" not in page
    assert "Dnr 5000-K123" not in page
    assert "a disclosure" not in reader.get("/company/activity/export").get_data(as_text=True)
    assert "disclosure.recorded" not in _activity(company_admin)
    # It is in the trail all the same, for staff.
    assert db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.subject_type == "Disclosure", AuditEvent.subject_id == record.id)
    )


def test_an_open_disclosure_is_in_the_companys_activity(app, support, company_admin):
    disclosures.record_disclosure(
        company_admin.company,
        company_admin.company,
        disclosures.DisclosureRequest(
            recipient_kind=RecipientKind.BUSINESS_PARTNER,
            recipient_name="Banken",
            data_disclosed="org number",
            disclosed_on=clock.today(),
            purpose="Start-up",
        ),
        actor=support,
    )
    db.session.commit()
    reader = app.test_client()
    login_as(in_english(reader), company_admin)
    assert "recorded a disclosure to" in reader.get("/company/activity").get_data(as_text=True)


def _lift(client, record, reason="Förundersökningssekretessen upphörde 2026-12-01"):
    path = f"/staff/disclosures/{record.id}/lift-confidentiality"
    return post(client, path, {"reason": reason}, page=path)


def test_staff_lift_the_confidentiality_and_the_company_then_sees_it(
    app, client, support, company_admin
):
    record = _confidential_disclosure(company_admin, support)
    page = client.get("/staff/disclosures/").get_data(as_text=True)
    assert f"/staff/disclosures/{record.id}/lift-confidentiality" in page
    response = _lift(client, record)
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Disclosure, record.id).confidential
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "disclosure.confidentiality_lifted")
    ).all()
    assert (event.subject_type, event.subject_id) == ("Disclosure", record.id)
    assert event.actor_account_id == support.id
    assert event.company_id == company_admin.company_id
    assert event.reason == "Förundersökningssekretessen upphörde 2026-12-01"
    reader = app.test_client()
    login_as(in_english(reader), company_admin)
    page = reader.get("/company/activity").get_data(as_text=True)
    assert "recorded a disclosure to" in page
    assert "lifted the confidentiality of a disclosure to" in page
    assert "Förundersökningssekretessen upphörde 2026-12-01" in page
    # The person's own export lists it now too.
    assert [d.id for d in disclosures.disclosures_about_person(company_admin, [])] == [record.id]


def test_lifting_needs_a_reason(client, support, company_admin):
    record = _confidential_disclosure(company_admin, support)
    response = _lift(client, record, reason="  ")
    assert response.status_code == 200
    assert 'id="reason-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Disclosure, record.id).confidential


def test_an_open_disclosure_has_nothing_to_lift(client, support, company_admin):
    record = _confidential_disclosure(company_admin, support)
    assert _lift(client, record).status_code == 302
    again = _lift(client, record)
    assert again.status_code == 200
    assert "This disclosure is not confidential." in again.get_data(as_text=True)
    assert (
        len(
            db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.action == "disclosure.confidentiality_lifted"
                )
            ).all()
        )
        == 1
    )


def test_an_unknown_disclosure_answers_404(client, support):
    assert client.get("/staff/disclosures/987654/lift-confidentiality").status_code == 404
