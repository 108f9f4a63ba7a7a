"""`/account/export`: all of the person's own data, nobody else's, and no secrets."""

import json
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portal import audit, clock
from portal.accounts import tokens
from portal.accounts.models import Account, LoginSession, TwoFactorSecret
from portal.audit import AuditEvent
from portal.contacts import consent
from portal.contacts.disclosures import DisclosureRequest, record_disclosure
from portal.contacts.models import RecipientKind, RecordedBy
from portal.db import db
from portal.downloads.models import DownloadRecord
from tests.factories import enable_twofactor, in_english, login_as, make_contact


@dataclass
class People:
    me: Account
    colleague: Account
    admin: Account
    token: str


@pytest.fixture
def people(client, make_account, make_release, make_company):
    me = make_account("member", email="me@example.com", name="Maja Mig")
    me.phone = "+46701234567"
    colleague = make_account(
        "member", company=me.company, email="colleague@example.com", name="Kollegan Kalle"
    )
    admin = make_account("admin", company=me.company, email="boss@example.com", name="Chefen")
    support = make_account("support", email="support@example.com", name="Sara Support")
    enable_twofactor(me)
    token = tokens.issue(me, tokens.TokenPurpose.PASSWORD_RESET)

    my_contact = make_contact(
        me.company, email="me@example.com", name="Maja Mig", contract_party=True
    )
    make_contact(me.company, email="colleague@example.com", name="Kollegan Kalle")
    make_contact(make_company(), email="me@example.com", name="Other company's Maja")
    consent.give(me, version=1, language="en", recorded_by=me, as_role=RecordedBy.SELF)
    consent.give(
        my_contact, version=1, language="sv", recorded_by=admin, as_role=RecordedBy.COMPANY_ADMIN
    )
    consent.give(
        colleague, version=1, language="sv", recorded_by=colleague, as_role=RecordedBy.SELF
    )

    release = make_release("safelink", "9.9")
    db.session.add(
        DownloadRecord(
            account_id=me.id, company_id=me.company_id, release_file_id=release.files[0].id
        )
    )
    db.session.add(
        DownloadRecord(
            account_id=colleague.id,
            company_id=me.company_id,
            release_file_id=release.files[0].id,
        )
    )
    audit.record(
        "account.role_changed",
        actor=admin,
        subject=me,
        details={"from": "member", "to": "member", "note": "asked by colleague@example.com"},
    )
    audit.record("account.created", actor=me, subject=colleague)
    audit.record("login.succeeded", actor=colleague, subject=colleague)

    def disclose(subject, recipient, **kwargs):
        record_disclosure(
            me.company,
            subject,
            DisclosureRequest(
                recipient_kind=kwargs.pop("kind", RecipientKind.AUTHORITY),
                recipient_name=recipient,
                data_disclosed="name and email address",
                disclosed_on=clock.today(),
                **kwargs,
            ),
            actor=support,
        )

    disclose(me, "Skatteverket", decision_reference="Dnr 1")
    disclose(me, "Polisen hemligt", decision_reference="Dnr 2", confidential=True)
    disclose(my_contact, "Nordea", kind=RecipientKind.BUSINESS_PARTNER, purpose="start-up")
    disclose(colleague, "Kronofogden", decision_reference="Dnr 3")
    db.session.flush()
    login_as(in_english(client), me)
    login_as(client.application.test_client(), colleague)
    return People(me=me, colleague=colleague, admin=admin, token=token)


def _export(client) -> tuple[dict, str]:
    response = client.get("/account/export?format=json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data(as_text=True)
    return json.loads(text), text


def test_the_export_holds_the_persons_account_and_contacts(client, people):
    data, _text = _export(client)
    assert data["account"]["email"] == "me@example.com"
    assert data["account"]["name"] == "Maja Mig"
    assert data["account"]["phone"] == "+46701234567"
    assert data["account"]["company"]["id"] == people.me.company_id
    [contact] = data["contacts"]
    assert contact["email"] == "me@example.com"
    assert contact["roles"] == ["contract_party", "technical_contact"]
    assert [c["recorded_by"] for c in contact["consents"]] == ["company_admin"]


def test_the_export_holds_consents_sessions_and_downloads(client, people):
    data, _text = _export(client)
    [my_consent] = data["consents"]
    assert my_consent["text"] == consent.CONSENT_TEXTS[0].en
    assert my_consent["text_version"] == 1
    assert data["sessions"]
    assert all(
        set(s) >= {"created", "last_seen", "ip_address", "user_agent"} for s in data["sessions"]
    )
    [download] = data["downloads"]
    assert download["version"] == "9.9"
    assert download["file"] == "safelink-9.9.zip"


def test_the_export_holds_the_audit_events_about_and_by_the_person(client, people):
    data, _text = _export(client)
    actions = [event["action"] for event in data["audit_events"]]
    assert "account.role_changed" in actions
    assert "account.created" in actions
    assert "login.succeeded" in actions
    by_admin = next(e for e in data["audit_events"] if e["action"] == "account.role_changed")
    assert by_admin["actor"] == "another user"
    assert by_admin["subject"] == "you"
    assert by_admin["ip_address"] is None
    about_colleague = next(e for e in data["audit_events"] if e["action"] == "account.created")
    assert about_colleague["actor"] == "you"
    assert about_colleague["subject"] == "Account"


def test_the_export_holds_disclosures_except_confidential_ones(client, people):
    data, text = _export(client)
    recipients = sorted(d["recipient"] for d in data["disclosures"])
    assert recipients == ["Nordea", "Skatteverket"]
    assert "Polisen hemligt" not in text
    assert "Dnr 2" not in text


def test_the_export_holds_nobody_elses_data(client, people):
    _data, text = _export(client)
    assert "colleague@example.com" not in text
    assert "Kollegan" not in text
    assert "boss@example.com" not in text
    assert "Chefen" not in text
    assert "support@example.com" not in text
    assert "Kronofogden" not in text
    assert "Other company's Maja" not in text


def test_the_export_holds_no_secrets(client, people):
    _data, text = _export(client)
    me = db.session.get(Account, people.me.id)
    assert me.password_hash and me.password_hash not in text
    assert "password_hash" not in text
    key_hashes = db.session.scalars(
        sa.select(LoginSession.key_hash).where(LoginSession.account_id == me.id)
    ).all()
    assert key_hashes
    assert all(key_hash not in text for key_hash in key_hashes)
    assert "key_hash" not in text
    secret = db.session.scalar(
        sa.select(TwoFactorSecret.secret).where(TwoFactorSecret.account_id == me.id)
    )
    assert secret not in text
    assert people.token not in text
    assert tokens._hash(people.token) not in text


def test_json_is_chosen_by_the_accept_header(client, people):
    response = client.get("/account/export", headers={"Accept": "application/json"})
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data(as_text=True))["account"]["email"] == "me@example.com"


def test_the_export_is_also_a_readable_page(client, people):
    response = client.get("/account/export")
    page = response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert "Everything the portal holds about you" in page
    assert "me@example.com" in page
    assert "Skatteverket" in page
    assert "safelink-9.9.zip" in page
    assert "Polisen hemligt" not in page
    assert "colleague@example.com" not in page


def test_exports_are_audited(client, people):
    client.get("/account/export")
    _export(client)
    formats = db.session.scalars(
        sa.select(AuditEvent.details)
        .where(AuditEvent.action == "export.downloaded", AuditEvent.subject_id == people.me.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [d["format"] for d in formats] == ["html", "json"]


def test_staff_viewing_the_portal_as_the_person_is_in_the_export_without_their_identity(
    client, people, make_account
):
    staff = make_account("support", email="viewer@example.com", name="Vera Viewer")
    audit.record(
        "impersonation.started",
        actor=staff,
        acting_as=people.me,
        subject=staff,
        reason="Ticket 42, asked by viewer@example.com",
    )
    db.session.flush()
    data, text = _export(client)
    event = next(e for e in data["audit_events"] if e["action"] == "impersonation.started")
    assert event["actor"] == "vendor staff, viewing the portal as you"
    assert event["reason"] == "Ticket 42, asked by [removed]"
    assert event["ip_address"] is None
    assert "viewer@example.com" not in text
    assert "Vera Viewer" not in text
