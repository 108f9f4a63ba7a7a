"""Consent to being contacted by other parties: the exact text, versioned; withdrawal at once."""

from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.contacts import consent
from portal.contacts.consent import CONSENT_TEXTS, ConsentText
from portal.contacts.models import ConsentRecord, RecordedBy
from portal.db import db
from tests.factories import in_english, login_as, make_contact, post


def _records(**where) -> list[ConsentRecord]:
    db.session.expire_all()
    query = sa.select(ConsentRecord).order_by(ConsentRecord.id)
    for column, value in where.items():
        query = query.where(getattr(ConsentRecord, column) == value)
    return list(db.session.scalars(query))


def _give(client, version=None, language="en"):
    version = consent.current_text().version if version is None else version
    return post(
        client,
        "/account/consents/give",
        {"version": str(version), "language": language},
        page="/account/consents",
    )


def test_a_customer_gives_consent_to_the_text_shown(client, make_account, frozen_clock):
    member = make_account("member")
    login_as(in_english(client), member)
    page = client.get("/account/consents").get_data(as_text=True)
    assert CONSENT_TEXTS[-1].en in page.replace("&#39;", "'")
    assert _give(client).status_code == 302
    [record] = _records(account_id=member.id)
    assert record.text_version == CONSENT_TEXTS[-1].version
    assert record.text == CONSENT_TEXTS[-1].en
    assert record.language == "en"
    assert record.given_dt == frozen_clock.now()
    assert record.recorded_by == RecordedBy.SELF
    assert record.recorded_by_account_id == member.id
    assert record.is_active


def test_the_swedish_text_is_stored_when_the_swedish_text_was_shown(client, make_account):
    member = make_account("member")
    login_as(client, member)
    _give(client, language="sv")
    [record] = _records(account_id=member.id)
    assert record.text == CONSENT_TEXTS[-1].sv


def test_withdrawal_takes_effect_at_once(client, make_account, frozen_clock):
    member = make_account("member")
    login_as(in_english(client), member)
    _give(client)
    frozen_clock.advance(timedelta(minutes=5))
    response = post(client, "/account/consents/withdraw", page="/account/consents")
    assert response.status_code == 302
    [record] = _records(account_id=member.id)
    assert record.withdrawn_dt == frozen_clock.now()
    assert record.withdrawn_by == RecordedBy.SELF
    assert consent.active_consent(db.session.get(Account, member.id)) is None
    page = client.get("/account/consents").get_data(as_text=True)
    assert "You have not given consent." in page


def test_consent_given_again_after_withdrawal_is_a_new_record(client, make_account):
    member = make_account("member")
    login_as(client, member)
    _give(client)
    post(client, "/account/consents/withdraw", page="/account/consents")
    _give(client)
    first, second = _records(account_id=member.id)
    assert first.withdrawn_dt is not None
    assert second.withdrawn_dt is None


def test_a_new_text_version_leaves_old_records_as_agreed(
    client, make_account, monkeypatch, frozen_clock
):
    member = make_account("member")
    login_as(client, member)
    _give(client, language="en")
    post(client, "/account/consents/withdraw", page="/account/consents")
    new_text = ConsentText(CONSENT_TEXTS[-1].version + 1, sv="Ny text v2.", en="New text v2.")
    monkeypatch.setattr(consent, "CONSENT_TEXTS", (*CONSENT_TEXTS, new_text))
    _give(client, version=new_text.version, language="en")
    old, new = _records(account_id=member.id)
    assert (old.text_version, old.text) == (CONSENT_TEXTS[-1].version, CONSENT_TEXTS[-1].en)
    assert (new.text_version, new.text) == (new_text.version, "New text v2.")


def test_agreeing_to_a_text_that_is_no_longer_current_is_refused(client, make_account, monkeypatch):
    member = make_account("member")
    login_as(in_english(client), member)
    shown = CONSENT_TEXTS[-1].version
    newer = ConsentText(shown + 1, sv="Ny text.", en="New text.")
    monkeypatch.setattr(consent, "CONSENT_TEXTS", (*CONSENT_TEXTS, newer))
    response = _give(client, version=shown)
    assert response.status_code == 302
    assert _records(account_id=member.id) == []
    page = client.get("/account/consents").get_data(as_text=True)
    assert "The text has changed since the page was shown." in page


def test_a_company_admin_records_a_contacts_consent(client, make_account):
    admin = make_account("admin")
    contact = make_contact(admin.company)
    login_as(in_english(client), admin)
    page = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Record the consent" in page
    response = post(
        client,
        f"/contacts/{contact.id}/consent",
        {"version": str(CONSENT_TEXTS[-1].version), "language": "sv"},
        page=f"/contacts/{contact.id}",
    )
    assert response.status_code == 302
    [record] = _records(contact_id=contact.id)
    assert record.recorded_by == RecordedBy.COMPANY_ADMIN
    assert record.recorded_by_account_id == admin.id
    assert record.text == CONSENT_TEXTS[-1].sv
    assert "Withdraw the consent" in client.get(f"/contacts/{contact.id}").get_data(as_text=True)


def test_a_company_admin_withdraws_a_contacts_consent(client, make_account):
    admin = make_account("admin")
    contact = make_contact(admin.company)
    consent.give(contact, version=1, language="sv", recorded_by=admin, as_role=RecordedBy.SELF)
    db.session.flush()
    login_as(client, admin)
    post(client, f"/contacts/{contact.id}/consent/withdraw", page=f"/contacts/{contact.id}")
    [record] = _records(contact_id=contact.id)
    assert record.withdrawn_dt is not None
    assert record.withdrawn_by == RecordedBy.COMPANY_ADMIN


def test_a_member_cannot_record_a_contacts_consent(client, make_account):
    member = make_account("member")
    contact = make_contact(member.company)
    login_as(client, member)
    response = post(
        client,
        f"/contacts/{contact.id}/consent",
        {"version": "1", "language": "sv"},
        page="/contacts/",
    )
    assert response.status_code == 403
    assert _records(contact_id=contact.id) == []


def test_giving_and_withdrawing_are_audited(client, make_account):
    member = make_account("member")
    login_as(client, member)
    _give(client)
    post(client, "/account/consents/withdraw", page="/account/consents")
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.subject_type == "Account", AuditEvent.subject_id == member.id)
        .where(AuditEvent.action.like("consent.%"))
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["consent.given", "consent.withdrawn"]


def test_consents_go_with_the_account(make_account):
    member = make_account("member")
    consent.give(member, version=1, language="sv", recorded_by=member, as_role=RecordedBy.SELF)
    db.session.flush()
    db.session.execute(sa.delete(Account).where(Account.id == member.id))
    assert _records() == []


def test_the_history_shows_each_record_with_its_version_and_who_recorded_it(client, make_account):
    member = make_account("member")
    login_as(in_english(client), member)
    _give(client)
    page = client.get("/account/consents").get_data(as_text=True)
    history = page[page.index("<caption>Your consent history</caption>") :]
    assert f"Version {CONSENT_TEXTS[-1].version}:" in history
    assert "<td>you</td>" in history
