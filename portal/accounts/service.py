"""Account rules that a view, a command and a job share: creating, finding and authenticating
accounts, and which account manages a company's licenses."""

import sqlalchemy as sa

from portal import access, audit, mail
from portal.accounts import passwords, tokens
from portal.accounts.models import (
    Account,
    AccountKind,
    CompanyRole,
    LicenseManagerDesignation,
    StaffRole,
    TokenPurpose,
)
from portal.companies.models import Company
from portal.db import db
from portal.emails import normalize_email
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal
from portal.urls import external_url


def find_by_email(address: str) -> Account | None:
    return db.session.scalar(sa.select(Account).where(Account.email == address.strip().lower()))


def find_by_valid_email(address: str | None) -> Account | None:
    """The account of a typed address, or None when there is none or it is no address at all."""
    try:
        return find_by_email(normalize_email(address))
    except Refusal:
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
        raise Refusal(_l("An account belongs either to a company or to the staff."))
    if company is not None and company_role is None:
        raise Refusal(_l("A company account needs a role, member or admin."), field="role")
    if find_by_email(address) is not None:
        raise Refusal(
            _l("An account with the address %(email)s already exists.", email=address),
            field="email",
            code="duplicate_email",
        )
    if password is not None:
        problem = passwords.policy_problem(password, email=address)
        if problem:
            raise Refusal(problem, field="password", code="weak_password")
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
    except Refusal:
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


# --- the license manager: the account the company admin chose (see portal.licenses.manager) ----


def is_license_manager(account) -> bool:
    return (
        db.session.scalar(
            sa.select(LicenseManagerDesignation.id).where(
                LicenseManagerDesignation.account_id == account.id,
                LicenseManagerDesignation.company_id == account.company_id,
            )
        )
        is not None
    )


def current_designation(company: Company) -> LicenseManagerDesignation | None:
    return db.session.scalar(
        sa.select(LicenseManagerDesignation).where(
            LicenseManagerDesignation.company_id == company.id
        )
    )


def current_manager(company: Company) -> Account | None:
    return db.session.scalar(
        sa.select(Account)
        .join(LicenseManagerDesignation, LicenseManagerDesignation.account_id == Account.id)
        .where(
            LicenseManagerDesignation.company_id == company.id,
            Account.company_id == company.id,
        )
    )


LICENSE_MANAGER_OR_ADMIN = access.Rule(
    "license manager or company admin",
    lambda account: (
        access.customer(account) and (account.is_company_admin or is_license_manager(account))
    ),
)


def send_invitation(account: Account, *, invited_by: Account | None = None, actor_label=None):
    """An invitation: a mailed link (72 hours) to choose the password of an account without one."""
    token = tokens.issue(account, TokenPurpose.INVITATION, created_by=invited_by)
    mail.queue(
        account.email,
        "portal/accounts/mail/invitation",
        language=account.language,
        account=account,
        invited_by=invited_by,
        link=mail.Secret(external_url("portal.signin.accept_invitation", token=token)),
        hours=tokens.lifetime_hours(TokenPurpose.INVITATION),
    )
    audit.record("invitation.sent", actor=invited_by, actor_label=actor_label, subject=account)
