"""Erasing a person: their login, their personal contacts, and their name in the audit trail.

`erase_person` is what a company admin's erasure does. Accounting records among the person's
contacts are kept, as the processing register's bookkeeping rule says. The audit trail keeps
every event and loses the identity (`portal.accounts.pseudonyms`).

Plain functions that never commit.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from portal import audit
from portal.accounts.models import Account, AccountKind, CompanyRole
from portal.accounts.pseudonyms import pseudonym, pseudonymise_account
from portal.contacts import service
from portal.contacts.models import ConsentRecord, Contact
from portal.db import db
from portal.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class ErasurePlan:
    account: Account
    contacts_to_delete: list[Contact]
    accounting_records_kept: list[Contact]


def personal_contacts_of(account: Account) -> list[Contact]:
    """The company's personal contacts with the person's address: the same person."""
    if account.company_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Contact)
            .where(
                Contact.company_id == account.company_id,
                Contact.kind == AccountKind.PERSONAL,
                Contact.email == account.email.lower(),
            )
            .order_by(Contact.id)
        )
    )


def plan(account: Account) -> ErasurePlan:
    contacts = personal_contacts_of(account)
    return ErasurePlan(
        account=account,
        contacts_to_delete=[c for c in contacts if not c.is_accounting_record],
        accounting_records_kept=[c for c in contacts if c.is_accounting_record],
    )


def erasure_problem(account: Account, actor: Account):
    """Why a company admin may not erase this person now, or None (the purge does not ask)."""
    if account.id == actor.id:
        return _l("You cannot erase yourself. Ask another administrator of your company.")
    if account.company_role == CompanyRole.ADMIN:
        other_admins = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Account)
            .where(
                Account.company_id == account.company_id,
                Account.company_role == CompanyRole.ADMIN,
                Account.is_active.is_(True),
                Account.id != account.id,
            )
        )
        if not other_admins:
            return _l("The company's last administrator cannot be erased.")
    deleted_ids = {c.id for c in plan(account).contacts_to_delete}
    contract_parties = db.session.scalars(
        sa.select(Contact.id).where(
            Contact.company_id == account.company_id, Contact.is_contract_party.is_(True)
        )
    ).all()
    if contract_parties and set(contract_parties) <= deleted_ids:
        return service.LAST_CONTRACT_PARTY
    return None


@dataclass(frozen=True)
class ErasureResult:
    pseudonym: str
    contacts_deleted: int
    accounting_records_kept: int
    audit_events_pseudonymised: int


def erase_person(account: Account, *, actor=None, actor_label: str | None = None) -> ErasureResult:
    """Delete the account with everything hanging on it, and the person's personal contacts.

    Sessions, tokens, two-factor secrets, consents and license manager designations go with the
    account (their foreign keys cascade); download records and disclosures keep the fact and
    lose the person. Accounting records among the contacts stay, without consents.
    """
    erasure = plan(account)
    account_id, company_id = account.id, account.company_id
    kept_ids = [c.id for c in erasure.accounting_records_kept]
    if kept_ids:
        db.session.execute(
            sa.delete(ConsentRecord).where(ConsentRecord.contact_id.in_(kept_ids)),
            execution_options={"synchronize_session": False},
        )
    service._delete_rows([c.id for c in erasure.contacts_to_delete])
    count = pseudonymise_account(account_id, account.email)
    db.session.execute(
        sa.delete(Account).where(Account.id == account_id),
        execution_options={"synchronize_session": "fetch"},
    )
    label = pseudonym(account_id)
    event = audit.record(
        "account.erased",
        actor=actor,
        actor_label=actor_label,
        company_id=company_id,
        details={
            "contacts_deleted": len(erasure.contacts_to_delete),
            "accounting_records_kept": len(kept_ids),
        },
    )
    event.subject_type = "Account"
    event.subject_label = label
    return ErasureResult(
        pseudonym=label,
        contacts_deleted=len(erasure.contacts_to_delete),
        accounting_records_kept=len(kept_ids),
        audit_events_pseudonymised=count,
    )
