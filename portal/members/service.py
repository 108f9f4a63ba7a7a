"""A company admin's work on the company's accounts: invite, change role, deactivate, remove.

Every rule that protects the company from locking itself out lives here: the last active admin
can be neither demoted, deactivated nor removed.
"""

import sqlalchemy as sa

from portal import audit, ratelimit
from portal.accounts import names, service
from portal.accounts.models import Account, AccountKind, CompanyRole
from portal.accounts.pseudonyms import pseudonymise_account
from portal.db import db
from portal.emails import normalize_email
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

ALREADY_IN_COMPANY = _l("This address already has an account in your company.")
LAST_ADMIN = _l("The company must keep at least one active admin.")
NOT_YOURSELF = _l("You cannot do this to your own account.")
NOT_INVITED = _l("This person has already accepted the invitation.")
TOO_MANY_TO_ADDRESS = _l(
    "Too many mails have been sent to this address lately. Try again in an hour or so."
)
TOO_MANY_INVITATIONS = _l(
    "Your company has sent too many invitations lately. Try again in an hour or so."
)


def _count_invitation(admin: Account, address: str) -> None:
    """Invitations and resends, per address and per company; refused before anything changes.

    An address that has an account elsewhere counts like any other, so that the limits tell
    nothing about it either.
    """
    spent = ratelimit.take(
        "invitation",
        (ratelimit.MAILS_TO_ONE_ADDRESS, ratelimit.address_key(address)),
        (ratelimit.INVITATIONS_PER_COMPANY, ratelimit.company_key(admin.company_id)),
    )
    if spent == 0:
        raise Refusal(TOO_MANY_TO_ADDRESS, field="email", code="too_many_mails")
    if spent == 1:
        raise Refusal(TOO_MANY_INVITATIONS, field="email", code="too_many_invitations")


def company_accounts(company_id: int) -> list[Account]:
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(Account.company_id == company_id)
            .order_by(Account.is_active.desc(), Account.name, Account.email)
        )
    )


def account_of_company(account_id: int, company_id: int) -> Account | None:
    return db.session.scalar(
        sa.select(Account).where(Account.id == account_id, Account.company_id == company_id)
    )


def is_invited(account: Account) -> bool:
    """Invited and never signed in: no password yet."""
    return account.password_hash is None


def invite(admin: Account, email: str, *, name: str | None, role: CompanyRole) -> Account | None:
    """Create an account and mail the invitation. Returns None, silently, for an address that
    belongs to another company or to staff: the admin must not learn who has an account (the
    refusal's event is one of audit.STAFF_ONLY_ACTIONS, out of the company's activity log).
    """
    address = normalize_email(email)
    name = names.clean_name(name)
    existing = service.find_by_email(address)
    if existing is not None and existing.company_id == admin.company_id:
        raise Refusal(ALREADY_IN_COMPANY, field="email", code="member_exists")
    _count_invitation(admin, address)
    if existing is not None:
        audit.record(
            "invitation.refused",
            actor=admin,
            outcome="refused",
            company_id=admin.company_id,
            details={"reason": "address has an account elsewhere"},
        )
        return None
    account = service.add_account(
        address,
        company=admin.company,
        company_role=role,
        kind=AccountKind.PERSONAL,
        name=name,
        actor=admin,
    )
    service.send_invitation(account, invited_by=admin)
    return account


def resend_invitation(admin: Account, account: Account) -> None:
    if not is_invited(account):
        raise Refusal(NOT_INVITED, code="not_invited")
    _count_invitation(admin, account.email)
    service.send_invitation(account, invited_by=admin)


def cancel_invitation(admin: Account, account: Account) -> None:
    """Withdraw an invitation that was never accepted; the unused account goes with it."""
    if not is_invited(account):
        raise Refusal(NOT_INVITED, code="not_invited")
    audit.record("invitation.cancelled", actor=admin, subject=account)
    _delete(account)


def _active_admins(company_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Account)
        .where(
            Account.company_id == company_id,
            Account.company_role == CompanyRole.ADMIN,
            Account.is_active.is_(True),
            Account.password_hash.is_not(None),
        )
    )


def _is_last_admin(account: Account) -> bool:
    return (
        account.company_role == CompanyRole.ADMIN
        and account.is_active
        and account.password_hash is not None
        and _active_admins(account.company_id) <= 1
    )


def change_role(admin: Account, account: Account, role: CompanyRole) -> None:
    if account.company_role == role:
        return
    if role == CompanyRole.MEMBER and _is_last_admin(account):
        raise Refusal(LAST_ADMIN, code="last_admin")
    old = account.company_role
    account.company_role = role
    audit.record(
        "account.role_changed", actor=admin, subject=account, details={"from": old, "to": role}
    )


def deactivate(admin: Account, account: Account) -> None:
    if account.id == admin.id:
        raise Refusal(NOT_YOURSELF, code="self")
    if _is_last_admin(account):
        raise Refusal(LAST_ADMIN, code="last_admin")
    account.is_active = False
    service.end_access(account, reason="deactivated")
    audit.record("account.deactivated", actor=admin, subject=account)


def reactivate(admin: Account, account: Account) -> None:
    account.is_active = True
    audit.record("account.reactivated", actor=admin, subject=account)


def remove(admin: Account, account: Account) -> None:
    if account.id == admin.id:
        raise Refusal(NOT_YOURSELF, code="self")
    if _is_last_admin(account):
        raise Refusal(LAST_ADMIN, code="last_admin")
    audit.record("account.removed", actor=admin, subject=account)
    service.end_access(account, reason="removed")
    _delete(account)


def _delete(account: Account) -> None:
    """Delete the account; the audit trail about it stays, with a pseudonym for its identity."""
    db.session.flush()
    pseudonymise_account(account.id, account.email)
    db.session.delete(account)
