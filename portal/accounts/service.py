"""Account rules that a view, a command and a job share: creating and authenticating accounts."""

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from portal import audit
from portal.accounts import passwords
from portal.accounts.models import Account, AccountKind, CompanyRole, StaffRole
from portal.companies.models import Company
from portal.db import db


class AccountError(ValueError):
    """An account request that cannot be carried out; the message says why."""


def normalize_email(address: str) -> str:
    """Syntax-checked (no network look-up) and lower-cased: one address, one account."""
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"{address!r} is not a valid email address: {error}") from None
    return result.normalized.lower()


def find_by_email(address: str) -> Account | None:
    return db.session.scalar(sa.select(Account).where(Account.email == address.strip().lower()))


def find_by_valid_email(address: str | None) -> Account | None:
    """The account of a typed address, or None when there is none or it is no address at all."""
    try:
        return find_by_email(normalize_email(address or ""))
    except AccountError:
        return None


def add_account(
    email: str,
    *,
    company: Company | None = None,
    company_role: CompanyRole | None = None,
    staff_role: StaffRole | None = None,
    kind: AccountKind = AccountKind.PERSONAL,
    name: str | None = None,
    password: str | None = None,
    actor=None,
    actor_label: str | None = None,
) -> Account:
    address = normalize_email(email)
    if (company is None) == (staff_role is None):
        raise AccountError("an account belongs either to a company or to the staff")
    if company is not None and company_role is None:
        raise AccountError("a company account needs a role, member or admin")
    if find_by_email(address) is not None:
        raise AccountError(f"an account with the address {address} already exists")
    if password is not None:
        problem = passwords.policy_problem(password, email=address)
        if problem:
            raise AccountError(str(problem))
    account = Account(
        email=address,
        company=company,
        company_role=company_role,
        staff_role=staff_role,
        kind=kind,
        name=(name or "").strip() or None,
        password_hash=passwords.hash_password(password) if password is not None else None,
    )
    db.session.add(account)
    db.session.flush()
    audit.record(
        "account.created",
        actor=actor,
        actor_label=actor_label,
        subject=account,
        company_id=company.id if company else None,
        details={"role": str(company_role or staff_role), "kind": str(kind)},
    )
    return account


def authenticate(email: str, password: str) -> Account | None:
    """The account if the address and password match an active account; same cost either way."""
    try:
        address = normalize_email(email)
    except AccountError:
        passwords.spend_verification_time()
        return None
    account = find_by_email(address)
    if account is None or not account.is_active or not account.password_hash:
        passwords.spend_verification_time()
        return None
    if not passwords.verify(account.password_hash, password):
        return None
    if passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    return account
