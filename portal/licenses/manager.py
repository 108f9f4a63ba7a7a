"""Who manages a company's licenses: the designation the company admin chooses.

A personal account of the company takes effect at once. A function address (for example
licenses@customer.se) becomes a function account of the company and takes effect only when
someone at that address follows the mailed link and sets the account's password; until then the
current manager stays. A newer choice replaces a pending one, and its link stops working.

With no manager designated, the company's admins receive what the manager would.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from portal import audit, clock, mail, ratelimit
from portal.accounts import passwords, service, sessions, tokens
from portal.accounts.models import (
    Account,
    AccountKind,
    AccountToken,
    CompanyRole,
    LicenseManagerDesignation,
    TokenPurpose,
)
from portal.accounts.service import current_designation, current_manager
from portal.companies.models import Company
from portal.db import db
from portal.emails import normalize_email
from portal.i18n import lazy_gettext as _l
from portal.licenses.models import PendingManagerDesignation
from portal.refusals import Refusal
from portal.urls import external_url

CONFIRMATION = TokenPurpose.MANAGER_CONFIRMATION
CONFIRMATION_HOURS = tokens.lifetime_hours(CONFIRMATION)


@dataclass(frozen=True)
class Confirmation:
    """A usable confirmation link: its token record and the pending choice it confirms."""

    token: AccountToken
    pending: PendingManagerDesignation

    @property
    def account(self) -> Account:
        return self.pending.account

    @property
    def company(self) -> Company:
        return self.pending.account.company


def pending_change(company: Company) -> PendingManagerDesignation | None:
    """The function address waiting for confirmation, while its link is still valid."""
    return db.session.scalar(
        sa.select(PendingManagerDesignation).where(
            PendingManagerDesignation.company_id == company.id,
            PendingManagerDesignation.expires_dt > clock.now(),
        )
    )


def designatable_accounts(company: Company) -> list[Account]:
    """The company's active personal accounts: the people an admin can choose from."""
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(
                Account.company_id == company.id,
                Account.kind == AccountKind.PERSONAL,
                Account.is_active.is_(True),
            )
            .order_by(Account.name, Account.email)
        )
    )


def recipients_for_license_notices(company: Company) -> list[Account]:
    """The license manager, or the company's active admins when there is no (active) manager."""
    manager = current_manager(company)
    if manager is not None and manager.is_active:
        return [manager]
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(
                Account.company_id == company.id,
                Account.company_role == CompanyRole.ADMIN,
                Account.is_active.is_(True),
            )
            .order_by(Account.id)
        )
    )


def designate_personal(
    company: Company, account: Account | None, by: Account | None
) -> LicenseManagerDesignation:
    """Make one of the company's active personal accounts the manager, at once.

    Choosing the current manager again withdraws a pending change.
    """
    _lock(company)
    if (
        account is None
        or account.company_id != company.id
        or account.kind != AccountKind.PERSONAL
        or not account.is_active
    ):
        raise Refusal(_l("Choose one of your company's active users."), field="account")
    current = current_manager(company)
    if current is not None and current.id == account.id:
        _keep_current(company, account, by, "account")
        return current_designation(company)
    _drop_pending(company, by)
    return _designate(company, account, by)


def _keep_current(company: Company, account: Account, by: Account | None, field: str) -> None:
    """Choosing the current manager again withdraws a pending change; with none, it is a mistake."""
    if not _has_pending(company):
        raise Refusal(
            _l("%(name)s already manages the licenses.", name=account.display_name), field=field
        )
    _drop_pending(company, by)


def _has_pending(company: Company) -> bool:
    return pending_change(company) is not None


def designate_function_address(
    company: Company, email: str, by: Account | None
) -> PendingManagerDesignation | None:
    """Choose a function address; it takes effect once someone there confirms the mailed link.

    An address of another company's account or of a staff account is refused, and nothing is
    mailed to it. The address of the current manager withdraws a pending change (returns None).
    """
    _lock(company)
    try:
        address = normalize_email(email)
    except Refusal:
        raise Refusal(
            _l("Enter an email address like licenses@example.com."), field="email"
        ) from None
    account = service.find_by_email(address)
    if account is not None:
        _check_existing_address(company, account, by)
        current = current_manager(company)
        if current is not None and current.id == account.id:
            _keep_current(company, account, by, "email")
            return None
    _count_confirmation(company, address)
    _drop_pending(company, by, keep=account)
    if account is not None and not account.is_active:
        # Left over from an earlier, unconfirmed choice of this address: chosen again.
        account.is_active = True
        audit.record(
            "account.reactivated",
            actor=by,
            subject=account,
            company_id=company.id,
            details={"reason": "function address chosen again"},
        )
    if account is None:
        account = service.add_account(
            address,
            company=company,
            company_role=CompanyRole.MEMBER,
            kind=AccountKind.FUNCTION,
            name=None,
            actor=by,
        )
        account.language = getattr(by, "language", None) or account.language
    now = clock.now()
    pending = PendingManagerDesignation(
        company_id=company.id,
        account=account,
        requested_by_id=getattr(by, "id", None),
        requested_dt=now,
        expires_dt=now + tokens.LIFETIMES[CONFIRMATION],
    )
    db.session.add(pending)
    db.session.flush()
    audit.record(
        "manager.designation_requested",
        actor=by,
        subject=account,
        company_id=company.id,
        details={"kind": AccountKind.FUNCTION.value},
    )
    token = tokens.issue(account, CONFIRMATION, created_by=by, payload={"pending_id": pending.id})
    # The mail goes to any address the admin types: it carries no text the admin chose (not
    # even their name), only the company's registered name.
    mail.queue(
        account.email,
        "portal/licenses/mail/manager_confirmation",
        language=account.language,
        company=company,
        account=account,
        link=mail.Secret(external_url("portal.licenses.confirm_manager", token=token)),
        hours=CONFIRMATION_HOURS,
    )
    audit.record("manager.confirmation_sent", actor=by, subject=account, company_id=company.id)
    return pending


def _count_confirmation(company: Company, address: str) -> None:
    """Confirmation mails go to an address the admin types: limited per address (from any
    company, with the invitations) and per company, refused before anything changes."""
    spent = ratelimit.take(
        "manager-confirmation",
        (ratelimit.MAILS_TO_ONE_ADDRESS, ratelimit.address_key(address)),
        (ratelimit.DESIGNATIONS_PER_COMPANY, ratelimit.company_key(company.id)),
    )
    if spent == 0:
        raise Refusal(
            _l("Too many mails have been sent to this address lately. Try again in an hour or so."),
            field="email",
            code="too_many_mails",
        )
    if spent == 1:
        raise Refusal(
            _l("Too many function addresses have been chosen lately. Try again in an hour or so."),
            field="email",
            code="too_many_designations",
        )


def _check_existing_address(company: Company, account: Account, by: Account | None) -> None:
    if account.company_id != company.id:
        # Another company's account or a staff account: the same words for both, so that the
        # admin learns nothing about whose address it is.
        audit.record(
            "manager.designation_refused",
            actor=by,
            outcome="refused",
            company_id=company.id,
            details={"reason": "address has an account outside the company"},
        )
        raise Refusal(
            _l(
                "This address cannot be used. Choose an address of your own company"
                " that has no account elsewhere in the portal."
            ),
            field="email",
        )
    if account.kind != AccountKind.FUNCTION:
        raise Refusal(
            _l(
                "This address belongs to a person's account in your company."
                " Choose the person in the list instead."
            ),
            field="email",
        )
    if not account.is_active and account.password_hash is not None:
        raise Refusal(
            _l("The account of this address is deactivated. Reactivate it under Users first."),
            field="email",
        )


def find_confirmation(token: str) -> tuple[Confirmation | None, tokens.TokenProblem | None]:
    """The pending choice a link confirms, or why the link cannot be used."""
    record, problem = tokens.find(token, CONFIRMATION)
    if problem:
        return None, problem
    pending_id = (record.payload or {}).get("pending_id")
    pending = (
        db.session.get(PendingManagerDesignation, pending_id)
        if isinstance(pending_id, int)
        else None
    )
    if (
        pending is None
        or pending.account_id != record.account_id
        or pending.expires_dt <= clock.now()
        or not pending.account.is_active
    ):
        return None, tokens.TokenProblem.CANCELLED
    return Confirmation(record, pending), None


def confirm(confirmation: Confirmation, password: str) -> tokens.TokenProblem | None:
    """Someone at the function address followed the link and chose a password: it takes effect.

    Returns why not when a newer choice or another request got there first (checked again
    under the company's lock, so a replaced choice can never win a race).
    """
    pending = confirmation.pending
    account = pending.account
    company = account.company
    _lock(company)
    still_pending = db.session.scalar(
        sa.select(PendingManagerDesignation.id).where(
            PendingManagerDesignation.id == pending.id,
            PendingManagerDesignation.account_id == account.id,
        )
    )
    used, cancelled = db.session.execute(
        sa.select(AccountToken.used_dt, AccountToken.cancelled_dt).where(
            AccountToken.id == confirmation.token.id
        )
    ).one()
    if used is not None:
        return tokens.TokenProblem.USED
    if still_pending is None or cancelled is not None:
        return tokens.TokenProblem.CANCELLED
    if not tokens.consume(confirmation.token):
        return tokens.TokenProblem.USED
    account.password_hash = passwords.hash_password(password)
    sessions.revoke_all(account, reason="password set")
    audit.record("manager.confirmed", actor=account, subject=account, company_id=company.id)
    requested_by = pending.requested_by
    db.session.delete(pending)
    db.session.flush()
    _designate(company, account, requested_by, actor=account)
    return None


def _designate(
    company: Company, account: Account, chosen_by: Account | None, *, actor=None
) -> LicenseManagerDesignation:
    designation = current_designation(company)
    previous = db.session.get(Account, designation.account_id) if designation else None
    now = clock.now()
    if designation is None:
        designation = LicenseManagerDesignation(
            company_id=company.id, account_id=account.id, designated_dt=now
        )
        db.session.add(designation)
    else:
        designation.account_id = account.id
        designation.designated_dt = now
    db.session.flush()
    audit.record(
        "manager.designated",
        actor=actor or chosen_by,
        subject=account,
        company_id=company.id,
        details={
            "kind": account.kind.value,
            "previous_account_id": previous.id if previous else None,
        },
    )
    licenses_link = external_url("portal.licenses.index")
    mail.queue(
        account.email,
        "portal/licenses/mail/manager_designated",
        language=account.language,
        company=company,
        account=account,
        chosen_by=chosen_by,
        link=licenses_link,
    )
    if previous is not None and previous.id != account.id and previous.is_active:
        mail.queue(
            previous.email,
            "portal/licenses/mail/manager_replaced",
            language=previous.language,
            company=company,
            successor=account,
            chosen_by=chosen_by,
        )
    return designation


def _drop_pending(company: Company, by: Account | None, *, keep: Account | None = None) -> None:
    """A newer choice replaces a pending one: its link stops working.

    A function account that was made for the replaced choice and never confirmed is
    deactivated with it.
    """
    pending = db.session.scalar(
        sa.select(PendingManagerDesignation).where(
            PendingManagerDesignation.company_id == company.id
        )
    )
    if pending is None:
        return
    account = pending.account
    tokens.cancel_open(account, CONFIRMATION)
    audit.record(
        "manager.request_replaced",
        actor=by,
        subject=account,
        company_id=company.id,
        details={"expired": pending.expires_dt <= clock.now()},
    )
    db.session.delete(pending)
    db.session.flush()
    unused = (
        account is not keep
        and account.kind == AccountKind.FUNCTION
        and account.password_hash is None
        and account.is_active
    )
    if unused:
        # Made for the replaced choice and never confirmed: it must not stay a way into the
        # company (a mistyped address may belong to anyone). It is deactivated, not deleted,
        # so that its link still says plainly that it was replaced.
        account.is_active = False
        service.end_access(account, reason="deactivated")
        audit.record(
            "account.deactivated",
            actor=by,
            subject=account,
            company_id=company.id,
            details={"reason": "unconfirmed function address replaced"},
        )


def _lock(company: Company) -> None:
    """Serialise designations of one company (a row lock where the database has them)."""
    db.session.execute(sa.select(Company.id).where(Company.id == company.id).with_for_update())
