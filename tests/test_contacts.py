"""Company contacts: members read them, admins change them, and the company's rules hold."""

import json
import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.accounts.models import AccountKind
from portal.audit import AuditEvent
from portal.contacts import consent
from portal.contacts.models import ConsentRecord, Contact
from portal.db import db
from tests.factories import in_english, login_as, make_contact, post


def _form(**overrides) -> dict:
    data = {
        "kind": "personal",
        "name": "Anna Berg",
        "email": "anna.berg@example.com",
        "phone": "070-123 45 67",
        "technical_contact": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def _contacts(company) -> list[Contact]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Contact).where(Contact.company_id == company.id).order_by(Contact.id)
        )
    )


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _admin_client(client, make_account):
    admin = make_account("admin")
    login_as(in_english(client), admin)
    return admin


def test_member_reads_own_company_contacts_and_no_others(client, make_account, make_company):
    member = make_account("member")
    make_contact(member.company, email="ours@example.com", phone_e164="+46701234567")
    make_contact(make_company(), email="theirs@example.com")
    login_as(in_english(client), member)
    page = client.get("/contacts/").get_data(as_text=True)
    assert "ours@example.com" in page
    assert "070-123 45 67" in page
    assert "theirs@example.com" not in page
    assert "Add a contact" not in page


def test_member_cannot_add_a_contact(client, make_account):
    member = make_account("member")
    login_as(client, member)
    response = post(client, "/contacts/new", _form(), page="/contacts/")
    assert response.status_code == 403
    assert _contacts(member.company) == []


def test_admin_adds_a_contact_with_the_phone_stored_as_e164(client, make_account):
    admin = _admin_client(client, make_account)
    response = post(
        client, "/contacts/new", _form(contract_party="y", invoice_reference="y"), page="/contacts/"
    )
    assert response.status_code == 302
    [contact] = _contacts(admin.company)
    assert contact.phone_e164 == "+46701234567"
    assert contact.email == "anna.berg@example.com"
    assert set(contact.roles) == {"invoice_reference", "contract_party", "technical_contact"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "070-123 45 67" in page
    assert "+46701234567" not in page


def test_a_foreign_phone_keeps_its_country_code(client, make_account):
    admin = _admin_client(client, make_account)
    post(client, "/contacts/new", _form(phone="+47 22 12 34 56"), page="/contacts/")
    [contact] = _contacts(admin.company)
    assert contact.phone_e164 == "+4722123456"
    assert "+47 22 12 34 56" in client.get("/contacts/").get_data(as_text=True)


def test_invalid_input_keeps_what_was_typed_and_saves_nothing(client, make_account):
    admin = _admin_client(client, make_account)
    response = post(
        client,
        "/contacts/new",
        _form(name="Typed Name Kept", email="not-an-address", phone="12", contract_party="y"),
        page="/contacts/",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Typed Name Kept"' in page
    assert 'value="not-an-address"' in page
    assert 'value="12"' in page
    assert 'id="email-error"' in page
    assert 'id="phone-error"' in page
    assert "Enter an email address like name@company.se." in page
    assert re.search(r'<input[^>]* checked id="contract_party"', page)
    assert _contacts(admin.company) == []
    assert _events("contact.created") == []


def test_a_personal_contact_needs_a_name(client, make_account):
    admin = _admin_client(client, make_account)
    response = post(client, "/contacts/new", _form(name=""), page="/contacts/")
    assert 'id="name-error"' in response.get_data(as_text=True)
    assert _contacts(admin.company) == []


def test_a_function_address_may_go_without_a_name(client, make_account):
    admin = _admin_client(client, make_account)
    response = post(
        client,
        "/contacts/new",
        _form(kind="function", name="", email="Invoices@Example.com", phone=""),
        page="/contacts/",
    )
    assert response.status_code == 302
    [contact] = _contacts(admin.company)
    assert contact.kind == AccountKind.FUNCTION
    assert contact.name is None
    assert contact.email == "invoices@example.com"
    assert contact.phone_e164 is None


def test_a_contact_needs_a_role(client, make_account):
    admin = _admin_client(client, make_account)
    response = post(client, "/contacts/new", _form(technical_contact=None), page="/contacts/")
    assert "Choose at least one role." in response.get_data(as_text=True)
    assert _contacts(admin.company) == []


def test_the_same_address_cannot_be_entered_twice(client, make_account):
    admin = _admin_client(client, make_account)
    make_contact(admin.company, email="anna.berg@example.com")
    response = post(
        client, "/contacts/new", _form(email="Anna.Berg@EXAMPLE.com"), page="/contacts/"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The company already has a contact with this email address." in page
    assert 'value="Anna.Berg@EXAMPLE.com"' in page
    assert len(_contacts(admin.company)) == 1


def test_another_company_may_use_the_same_address(client, make_account, make_company):
    admin = _admin_client(client, make_account)
    make_contact(make_company(), email="anna.berg@example.com")
    response = post(client, "/contacts/new", _form(), page="/contacts/")
    assert response.status_code == 302
    assert len(_contacts(admin.company)) == 1


def test_editing_to_an_address_the_company_has_is_refused(client, make_account):
    admin = _admin_client(client, make_account)
    make_contact(admin.company, email="first@example.com")
    second = make_contact(admin.company, email="second@example.com")
    response = post(
        client, f"/contacts/{second.id}/edit", _form(email="first@example.com"), page="/contacts/"
    )
    assert "The company already has a contact with this email address." in response.get_data(
        as_text=True
    )
    assert _contacts(admin.company)[1].email == "second@example.com"


def test_the_edit_form_shows_the_stored_contact(client, make_account):
    admin = _admin_client(client, make_account)
    contact = make_contact(admin.company, name="Olle Lind", phone_e164="+46812345678")
    page = client.get(f"/contacts/{contact.id}/edit").get_data(as_text=True)
    assert 'value="Olle Lind"' in page
    assert 'value="08-123 456 78"' in page


def test_unticking_the_last_contract_party_is_refused(client, make_account):
    admin = _admin_client(client, make_account)
    contact = make_contact(admin.company, contract_party=True, technical_contact=True)
    response = post(
        client,
        f"/contacts/{contact.id}/edit",
        _form(email=contact.email, name="Renamed"),
        page="/contacts/",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The company must keep a contract party." in page
    assert 'id="contract_party-error"' in page
    [stored] = _contacts(admin.company)
    assert stored.is_contract_party
    assert stored.name == "Contact Person"


def test_the_contract_party_role_can_move_to_another_contact(client, make_account):
    admin = _admin_client(client, make_account)
    old = make_contact(admin.company, email="old@example.com", contract_party=True)
    make_contact(admin.company, email="new@example.com", contract_party=True)
    response = post(
        client, f"/contacts/{old.id}/edit", _form(email="old@example.com"), page="/contacts/"
    )
    assert response.status_code == 302
    assert [c.is_contract_party for c in _contacts(admin.company)] == [False, True]


def test_deleting_the_last_contract_party_is_refused(client, make_account):
    admin = _admin_client(client, make_account)
    contact = make_contact(admin.company, contract_party=True)
    page = client.get(f"/contacts/{contact.id}/delete").get_data(as_text=True)
    assert "The company must keep a contract party." in page
    assert "Yes, delete the contact" not in page
    response = post(client, f"/contacts/{contact.id}/delete", page="/contacts/")
    assert response.status_code == 409
    assert len(_contacts(admin.company)) == 1


def test_a_contact_is_deleted_after_confirmation(client, make_account):
    admin = _admin_client(client, make_account)
    contact_id = make_contact(admin.company, email="gone@example.com").id
    page = client.get(f"/contacts/{contact_id}/delete").get_data(as_text=True)
    assert "Yes, delete the contact" in page
    response = post(client, f"/contacts/{contact_id}/delete", page="/contacts/")
    assert response.status_code == 302
    assert _contacts(admin.company) == []
    [event] = _events("contact.deleted")
    assert event.subject_id == contact_id
    assert "gone@example.com" not in json.dumps(event.details)


def test_an_accounting_record_cannot_be_deleted(client, make_account):
    admin = _admin_client(client, make_account)
    contact = make_contact(admin.company, invoice_reference=True, is_accounting_record=True)
    response = post(client, f"/contacts/{contact.id}/delete", page="/contacts/")
    assert response.status_code == 409
    assert "Bookkeeping Act" in response.get_data(as_text=True)
    assert len(_contacts(admin.company)) == 1


def test_another_companys_contact_is_not_found(client, make_account, make_company):
    _admin_client(client, make_account)
    theirs = make_contact(make_company(), email="theirs@example.com")
    assert client.get(f"/contacts/{theirs.id}").status_code == 404
    response = post(client, f"/contacts/{theirs.id}/edit", _form(), page="/contacts/")
    assert response.status_code == 404
    response = post(client, f"/contacts/{theirs.id}/delete", page="/contacts/")
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Contact, theirs.id).email == "theirs@example.com"


def test_changes_are_audited_without_personal_data(client, make_account):
    admin = _admin_client(client, make_account)
    post(client, "/contacts/new", _form(), page="/contacts/")
    [contact] = _contacts(admin.company)
    post(
        client,
        f"/contacts/{contact.id}/edit",
        _form(name="Anna Lind", phone="08-123 456 78"),
        page="/contacts/",
    )
    [created] = _events("contact.created")
    [updated] = _events("contact.updated")
    assert created.actor_account_id == admin.id
    assert updated.details["changed"] == ["name", "phone_e164"]
    for event in (created, updated):
        text = json.dumps([event.details, event.subject_label])
        assert "Anna" not in text
        assert "anna.berg@example.com" not in text
        assert "+46" not in text


def test_replacing_moves_every_role_and_deletes_the_personal_data(client, make_account):
    admin = _admin_client(client, make_account)
    person = make_contact(
        admin.company,
        name="Karin Personlig",
        email="karin@example.com",
        phone_e164="+46701112233",
        contract_party=True,
        invoice_reference=True,
    )
    consent.give(
        person,
        version=consent.current_text().version,
        language="sv",
        recorded_by=admin,
        as_role=consent.RecordedBy.COMPANY_ADMIN,
    )
    db.session.flush()
    person_id = person.id
    response = post(
        client,
        f"/contacts/{person_id}/replace",
        {"email": "Licenses@Example.com", "name": "License desk"},
        page="/contacts/",
    )
    assert response.status_code == 302
    [function] = _contacts(admin.company)
    assert function.kind == AccountKind.FUNCTION
    assert function.email == "licenses@example.com"
    assert function.name == "License desk"
    assert set(function.roles) == {"invoice_reference", "contract_party", "technical_contact"}
    assert db.session.get(Contact, person_id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0
    [event] = _events("contact.replaced")
    assert event.details["replaced_contact_id"] == person_id
    assert event.details["personal_data_deleted"] is True
    every_event = db.session.scalars(sa.select(AuditEvent)).all()
    trail = json.dumps([[e.details, e.subject_label, e.reason] for e in every_event])
    assert "karin@example.com" not in trail
    assert "Karin" not in trail


def test_replacing_with_an_existing_function_address_merges_the_roles(client, make_account):
    admin = _admin_client(client, make_account)
    desk = make_contact(
        admin.company, kind=AccountKind.FUNCTION, name=None, email="desk@example.com"
    )
    person = make_contact(admin.company, email="person@example.com", contract_party=True)
    response = post(
        client, f"/contacts/{person.id}/replace", {"email": "desk@example.com"}, page="/contacts/"
    )
    assert response.status_code == 302
    [stored] = _contacts(admin.company)
    assert stored.id == desk.id
    assert stored.is_contract_party and stored.is_technical_contact


def test_a_personal_address_cannot_replace_a_person(client, make_account):
    admin = _admin_client(client, make_account)
    make_contact(admin.company, email="other.person@example.com")
    person = make_contact(admin.company, email="person@example.com", contract_party=True)
    response = post(
        client,
        f"/contacts/{person.id}/replace",
        {"email": "other.person@example.com"},
        page="/contacts/",
    )
    assert "Enter a function address." in response.get_data(as_text=True)
    assert len(_contacts(admin.company)) == 2


def test_replacing_an_accounting_record_keeps_it_without_roles(client, make_account):
    admin = _admin_client(client, make_account)
    person = make_contact(
        admin.company, email="person@example.com", invoice_reference=True, is_accounting_record=True
    )
    post(client, f"/contacts/{person.id}/replace", {"email": "inv@example.com"}, page="/contacts/")
    kept, function = _contacts(admin.company)
    assert kept.id == person.id and kept.roles == []
    assert function.is_invoice_reference


def test_a_function_contact_has_no_replace_page(client, make_account):
    admin = _admin_client(client, make_account)
    desk = make_contact(admin.company, kind=AccountKind.FUNCTION, email="desk@example.com")
    assert client.get(f"/contacts/{desk.id}/replace").status_code == 404


names = st.one_of(st.text(max_size=250), st.sampled_from(["", " ", "\x00", "Å" * 201, "<b>"]))
emails = st.one_of(
    st.text(max_size=300),
    st.emails(),
    st.sampled_from(["", "a@b", "ö@ä.se", "x@" + "a" * 300 + ".se", "A@Example.COM", "a\x00@b.se"]),
)
phones = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"\+?[0-9 ()-]{0,25}", fullmatch=True),
    st.sampled_from(["070-123 45 67", "+46 8 123 456 78", "+1 202 555 0143", "\x00", "0" * 300]),
)
flags = st.sampled_from([None, "y", "on", "", "no"])


@pytest.fixture
def signed_in_admin(client, make_account):
    """One admin for every example: Hypothesis runs the examples inside one test."""
    admin = make_account("admin")
    login_as(client, admin)
    return admin


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(["personal", "function", "", "robot", None]),
    name=names,
    email=emails,
    phone=phones,
    invoice=flags,
    contract=flags,
    technical=flags,
)
def test_fuzzed_contact_form_never_fails(
    client, signed_in_admin, kind, name, email, phone, invoice, contract, technical
):
    data = {
        "kind": kind,
        "name": name,
        "email": email,
        "phone": phone,
        "invoice_reference": invoice,
        "contract_party": contract,
        "technical_contact": technical,
    }
    response = post(client, "/contacts/new", _form(**data), page="/contacts/")
    assert response.status_code in (200, 302, 400)  # 400: a NUL character, refused everywhere
    if response.status_code == 302:
        contact = _contacts(signed_in_admin.company)[-1]
        edit = post(client, f"/contacts/{contact.id}/edit", _form(**data), page="/contacts/")
        assert edit.status_code in (200, 302)
