"""Everything the portal holds about one person, for `/account/export` (JSON or a page).

One function, `collect`, gathers the data; the page and the JSON document both show exactly what
it returns. It never includes a password hash, a session key hash, a token, a two-factor secret,
or another person's data: events by others about the person say only that someone else acted,
and events by the person about others say only what kind of object it was.
"""

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from portal import clock
from portal.accounts.models import Account, LoginSession
from portal.audit import AuditEvent, readable_by_customer
from portal.contacts import consent
from portal.contacts.disclosures import disclosures_about_person, readable_by_the_company
from portal.contacts.models import Contact
from portal.db import db
from portal.downloads.models import DownloadRecord
from portal.licenses.models import Release, ReleaseFile
from portal.orders.models import Order

FORMAT_VERSION = 1
_EMAIL = re.compile(r"[^\s@<>\"']+@[^\s@<>\"']+")


def _iso(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _account(account: Account) -> dict[str, Any]:
    company = account.company
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "phone": account.phone,
        "kind": str(account.kind),
        "company": (
            {"id": company.id, "name": company.name, "org_number": company.org_number}
            if company is not None
            else None
        ),
        "company_role": str(account.company_role) if account.company_role else None,
        "staff_role": str(account.staff_role) if account.staff_role else None,
        "language": account.language,
        "is_active": account.is_active,
        "has_password": account.password_hash is not None,
        "created": _iso(account.created_dt),
        "last_login": _iso(account.last_login_dt),
    }


def _consents(person) -> list[dict[str, Any]]:
    return [
        {
            "id": record.id,
            "purpose": record.purpose,
            "text_version": record.text_version,
            "language": record.language,
            "text": record.text,
            "given": _iso(record.given_dt),
            "recorded_by": str(record.recorded_by),
            "withdrawn": _iso(record.withdrawn_dt),
            "withdrawn_by": str(record.withdrawn_by) if record.withdrawn_by else None,
        }
        for record in consent.history(person)
    ]


def same_address_contacts(account: Account) -> list[Contact]:
    if account.company_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Contact)
            .where(Contact.company_id == account.company_id, Contact.email == account.email)
            .order_by(Contact.id)
        )
    )


def _contact(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "kind": str(contact.kind),
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone_e164,
        "roles": [str(role) for role in contact.roles],
        "is_accounting_record": contact.is_accounting_record,
        "created": _iso(contact.created_dt),
        "updated": _iso(contact.updated_dt),
        "consents": _consents(contact),
    }


def _sessions(account: Account) -> list[dict[str, Any]]:
    records = db.session.scalars(
        sa.select(LoginSession)
        .where(LoginSession.account_id == account.id)
        .order_by(LoginSession.created_dt.desc())
    )
    return [
        {
            "created": _iso(record.created_dt),
            "last_seen": _iso(record.last_seen_dt),
            "expires": _iso(record.expires_dt),
            "ended": _iso(record.revoked_dt),
            "remember": record.remember,
            "ip_address": record.ip_address,
            "user_agent": record.user_agent,
        }
        for record in records
    ]


def _scrub(value, own_email: str):
    """Another person's email address in free-form details is not the requester's data."""
    if isinstance(value, str):
        return _EMAIL.sub(
            lambda m: m.group(0) if m.group(0).lower() == own_email else "[removed]", value
        )
    if isinstance(value, dict):
        return {key: _scrub(item, own_email) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, own_email) for item in value]
    return value


def _audit_events(account: Account) -> list[dict[str, Any]]:
    about = sa.and_(AuditEvent.subject_type == "Account", AuditEvent.subject_id == account.id)
    by = AuditEvent.actor_account_id == account.id
    as_them = AuditEvent.acting_as_account_id == account.id
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(about, by, as_them), readable_by_customer(), readable_by_the_company())
        .order_by(AuditEvent.occurred_dt.desc(), AuditEvent.id.desc())
    )
    own_email = account.email.lower()
    result = []
    for event in events:
        by_them = event.actor_account_id == account.id
        about_them = event.subject_type == "Account" and event.subject_id == account.id
        if by_them:
            actor = "you"
        elif event.acting_as_account_id == account.id:
            actor = "vendor staff, viewing the portal as you"
        elif event.actor_account_id is not None:
            actor = "another user"
        else:
            actor = "the system"
        entry = {
            "when": _iso(event.occurred_dt),
            "action": event.action,
            "outcome": event.outcome,
            "actor": actor,
            "subject": "you" if about_them else (event.subject_type or None),
            # The address a request came from is personal data of whoever sent it.
            "ip_address": event.ip_address if by_them else None,
            "reason": _scrub(event.reason, own_email) if event.reason else None,
            "details": _scrub(event.details, own_email) if event.details else None,
        }
        result.append(entry)
    return result


def _disclosures(account: Account, contacts: list[Contact]) -> list[dict[str, Any]]:
    return [
        {
            "disclosed_on": _iso(record.disclosed_on),
            "about": str(record.subject_kind),
            "recipient_kind": str(record.recipient_kind),
            "recipient": record.recipient_name,
            "data_disclosed": record.data_disclosed,
            "decision_reference": record.decision_reference,
            "purpose": record.purpose,
        }
        for record in disclosures_about_person(account, [c.id for c in contacts])
    ]


def _downloads(account: Account) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(DownloadRecord, ReleaseFile, Release)
        .join(ReleaseFile, ReleaseFile.id == DownloadRecord.release_file_id)
        .join(Release, Release.id == ReleaseFile.release_id)
        .where(DownloadRecord.account_id == account.id)
        .order_by(DownloadRecord.downloaded_dt.desc(), DownloadRecord.id.desc())
    ).all()
    return [
        {
            "when": _iso(record.downloaded_dt),
            "product": release.product.name,
            "version": release.version,
            "file": file.filename,
        }
        for record, file, release in rows
    ]


def _orders(account: Account) -> list[dict[str, Any]]:
    """The orders the person placed: what and when, not the invoice reference (another person)."""
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.orderer_account_id == account.id)
        .order_by(Order.placed_dt.desc(), Order.id.desc())
    )
    return [
        {
            "number": order.id,
            "placed": _iso(order.placed_dt),
            "state": str(order.state),
            "lines": [
                {"product": line.product_name, "item": str(line.item), "quantity": line.quantity}
                for line in order.lines
            ],
            "total_ore": order.total_ore,
        }
        for order in orders
    ]


def collect(account: Account) -> dict[str, Any]:
    """Everything the portal holds about the account's person; nothing about anybody else."""
    contacts = same_address_contacts(account)
    return {
        "format_version": FORMAT_VERSION,
        "exported": _iso(clock.now()),
        "account": _account(account),
        "contacts": [_contact(c) for c in contacts],
        "consents": _consents(account),
        "sessions": _sessions(account),
        "downloads": _downloads(account),
        "orders": _orders(account),
        "audit_events": _audit_events(account),
        "disclosures": _disclosures(account, contacts),
    }
