"""Company contacts: the rules a view, a command and a job share.

- a personal contact has a name; a function address may go without one;
- an address is entered once per company;
- a company keeps at least one contract party;
- a personal contact can be replaced by a function address, which takes over its roles; the
  personal data is then deleted, not kept anywhere (the audit event says a replacement happened);
- an accounting record (e.g. the invoice reference on issued invoices) is kept for the
  bookkeeping period and cannot be deleted here.

Plain functions that never commit; refusals name the form field they belong to.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from portal import audit, phone
from portal.accounts import names
from portal.accounts.models import Account, AccountKind
from portal.contacts.models import Contact, ContactRole
from portal.db import db
from portal.emails import normalize_email
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal


@dataclass(frozen=True)
class ContactData:
    kind: AccountKind
    name: str | None
    email: str  # normalised with `portal.emails.normalize_email`
    phone_e164: str | None
    roles: frozenset[ContactRole]


def parse_phone(value: str | None) -> str | None:
    """An empty field is no phone; anything else must be a valid number (Sweden by default)."""
    if not value or not value.strip():
        return None
    try:
        return phone.to_e164(value.strip())
    except phone.InvalidPhoneNumber:
        raise Refusal(
            _l("Enter a phone number such as 070-123 45 67, or +47 for another country."),
            field="phone",
        ) from None


def name_problem(kind: AccountKind, name: str | None):
    if kind == AccountKind.PERSONAL and not (name or "").strip():
        return _l("Enter the person's name. Only a function address may go without a name.")
    return None


def contacts_of(company_id: int) -> list[Contact]:
    return list(
        db.session.scalars(
            sa.select(Contact)
            .where(Contact.company_id == company_id)
            .order_by(sa.func.lower(sa.func.coalesce(Contact.name, Contact.email)), Contact.id)
        )
    )


def _other_with_address(company_id: int, email: str, exclude_id: int | None) -> Contact | None:
    query = sa.select(Contact).where(Contact.company_id == company_id, Contact.email == email)
    if exclude_id is not None:
        query = query.where(Contact.id != exclude_id)
    return db.session.scalar(query)


def _other_contract_parties(company_id: int, exclude_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Contact)
        .where(
            Contact.company_id == company_id,
            Contact.is_contract_party.is_(True),
            Contact.id != exclude_id,
        )
    )


LAST_CONTRACT_PARTY = _l(
    "The company must keep a contract party. Make another contact the contract party first, "
    "or replace this contact with a function address."
)
DUPLICATE_ADDRESS = _l("The company already has a contact with this email address.")
ACCOUNTING_RECORD = _l(
    "This contact is an accounting record and is kept for as long as the Swedish Bookkeeping "
    "Act requires. You can remove its roles instead."
)


def _check(company_id: int, data: ContactData, exclude_id: int | None) -> None:
    names.clean_name(data.name)  # the one rule of names, also for a contact's
    problem = name_problem(data.kind, data.name)
    if problem:
        raise Refusal(problem, field="name")
    if _other_with_address(company_id, data.email, exclude_id) is not None:
        raise Refusal(DUPLICATE_ADDRESS, field="email")


def _apply(contact: Contact, data: ContactData) -> list[str]:
    """Copy the data onto the contact; return the names of the fields that changed."""
    values = {
        "kind": data.kind,
        "name": names.clean_name(data.name),
        "email": data.email,
        "phone_e164": data.phone_e164,
        "is_invoice_reference": ContactRole.INVOICE_REFERENCE in data.roles,
        "is_contract_party": ContactRole.CONTRACT_PARTY in data.roles,
        "is_technical_contact": ContactRole.TECHNICAL_CONTACT in data.roles,
    }
    changed = [key for key, value in values.items() if getattr(contact, key) != value]
    for key in changed:
        setattr(contact, key, values[key])
    return changed


def create_contact(company_id: int, data: ContactData, *, actor: Account) -> Contact:
    _check(company_id, data, None)
    contact = Contact(company_id=company_id)
    _apply(contact, data)
    db.session.add(contact)
    db.session.flush()
    audit.record(
        "contact.created",
        actor=actor,
        subject=contact,
        details={"kind": str(contact.kind), "roles": [str(role) for role in contact.roles]},
    )
    return contact


def update_contact(contact: Contact, data: ContactData, *, actor: Account) -> list[str]:
    _check(contact.company_id, data, contact.id)
    if (
        contact.is_contract_party
        and ContactRole.CONTRACT_PARTY not in data.roles
        and _other_contract_parties(contact.company_id, contact.id) == 0
    ):
        raise Refusal(LAST_CONTRACT_PARTY, field="contract_party")
    changed = _apply(contact, data)
    if changed:
        db.session.flush()
        audit.record(
            "contact.updated",
            actor=actor,
            subject=contact,
            details={"changed": changed, "roles": [str(role) for role in contact.roles]},
        )
    return changed


def deletion_problem(contact: Contact):
    """Why the contact cannot be deleted, or None."""
    if contact.is_accounting_record:
        return ACCOUNTING_RECORD
    if contact.is_contract_party and _other_contract_parties(contact.company_id, contact.id) == 0:
        return LAST_CONTRACT_PARTY
    return None


def delete_contact(contact: Contact, *, actor: Account) -> None:
    problem = deletion_problem(contact)
    if problem:
        raise Refusal(problem)
    audit.record(
        "contact.deleted",
        actor=actor,
        subject=contact,
        details={"kind": str(contact.kind), "roles": [str(role) for role in contact.roles]},
    )
    _delete_rows([contact.id])


def _delete_rows(contact_ids: list[int]) -> None:
    """Delete in the database so that its cascades (consents) and SET NULLs apply."""
    if not contact_ids:
        return
    db.session.flush()
    db.session.execute(
        sa.delete(Contact).where(Contact.id.in_(contact_ids)),
        execution_options={"synchronize_session": "fetch"},
    )


@dataclass(frozen=True)
class Replacement:
    contact: Contact  # the function address now holding the roles
    personal_data_deleted: bool  # False when the old contact is an accounting record


def replace_with_function_address(
    contact: Contact, email: str, name: str | None, *, actor: Account
) -> Replacement:
    """Move every role of a personal contact to a function address, then delete the person.

    An existing function contact with that address takes over the roles; otherwise a new one
    is created. An accounting record is kept without its roles, as the bookkeeping rule says.
    """
    if contact.kind != AccountKind.PERSONAL:
        raise Refusal(_l("Only a personal contact can be replaced."))
    address = normalize_email(email)
    name = names.clean_name(name)
    target = _other_with_address(contact.company_id, address, None)
    if target is not None and (target.id == contact.id or target.kind != AccountKind.FUNCTION):
        raise Refusal(
            _l("This address belongs to a personal contact. Enter a function address."),
            field="email",
        )
    roles = set(contact.roles)
    created = target is None
    if created:
        target = Contact(company_id=contact.company_id, kind=AccountKind.FUNCTION, email=address)
        db.session.add(target)
    if name and (created or not target.name):
        target.name = name
    target.is_invoice_reference = target.is_invoice_reference or contact.is_invoice_reference
    target.is_contract_party = target.is_contract_party or contact.is_contract_party
    target.is_technical_contact = target.is_technical_contact or contact.is_technical_contact
    old_id = contact.id
    keep = contact.is_accounting_record
    if keep:
        contact.is_invoice_reference = False
        contact.is_contract_party = False
        contact.is_technical_contact = False
    db.session.flush()
    audit.record(
        "contact.replaced",
        actor=actor,
        subject=target,
        details={
            "replaced_contact_id": old_id,
            "new_contact_created": created,
            "roles": sorted(str(role) for role in roles),
            "personal_data_deleted": not keep,
        },
    )
    if not keep:
        _delete_rows([old_id])
    return Replacement(contact=target, personal_data_deleted=not keep)
