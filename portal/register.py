"""The processing register (GDPR art. 30): every purpose, its legal basis, data and retention.

Declared once. The public privacy page renders it and the retention purge reads its periods from
here, with the configured account retention (`PORTAL_ACCOUNT_RETENTION_MONTHS`) applied.
"""

import calendar
import enum
from dataclasses import dataclass
from datetime import date

from portal.i18n import lazy_gettext as _l

ACCOUNT_RETENTION_MONTHS_DEFAULT = 24
BOOKKEEPING_YEARS = 7  # bokföringslagen 7 kap. 2 §


class LegalBasis(enum.StrEnum):
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTEREST = "legitimate_interest"
    CONSENT = "consent"


LEGAL_BASIS_LABELS = {
    LegalBasis.CONTRACT: _l("Performance of the contract"),
    LegalBasis.LEGAL_OBLIGATION: _l("Legal obligation"),
    LegalBasis.LEGITIMATE_INTEREST: _l("Legitimate interest (after a balancing test)"),
    LegalBasis.CONSENT: _l("Consent for a specific purpose"),
}


class RetentionRule(enum.StrEnum):
    ACCOUNT_MONTHS = "account_months"  # N months after the customer relationship ended
    BOOKKEEPING = "bookkeeping"  # end of the 7th year after the year the relationship ended
    UNTIL_WITHDRAWN = "until_withdrawn"
    # End of the 7th year after the calendar year of the order (`order_retention_end`); the
    # orderer is pseudonymised when the company's login accounts are removed.
    ORDER_BOOKKEEPING = "order_bookkeeping"
    WITH_ACCOUNTS = "with_accounts"


@dataclass(frozen=True)
class Purpose:
    key: str
    title: object
    legal_basis: LegalBasis
    data_categories: tuple
    recipients: tuple
    retention: RetentionRule


REGISTER: tuple[Purpose, ...] = (
    Purpose(
        "customer_login",
        _l("Sign-in to the customer portal"),
        LegalBasis.CONTRACT,
        (_l("email address used to sign in"), _l("name"), _l("phone"), _l("sessions")),
        (_l("nobody outside the vendor"),),
        RetentionRule.ACCOUNT_MONTHS,
    ),
    Purpose(
        "license_management",
        _l("Managing the company's licenses"),
        LegalBasis.CONTRACT,
        (_l("who manages the company's licenses (a personal or a function address)"),),
        (_l("nobody outside the vendor"),),
        RetentionRule.ACCOUNT_MONTHS,
    ),
    Purpose(
        "company_contacts",
        _l("Contact persons, contract party and technical contacts"),
        LegalBasis.CONTRACT,
        (_l("name"), _l("email address"), _l("phone")),
        (_l("the customer's bank during start-up or troubleshooting"),),
        RetentionRule.WITH_ACCOUNTS,
    ),
    Purpose(
        "invoicing",
        _l("Invoice references and accounting"),
        LegalBasis.LEGAL_OBLIGATION,
        (_l("invoice reference"), _l("contract party")),
        (_l("authorities when the law or a decision requires it"),),
        RetentionRule.BOOKKEEPING,
    ),
    Purpose(
        "licensed_machines",
        _l("Machines that use the company's licenses"),
        LegalBasis.CONTRACT,
        (
            _l("the machine's name and fingerprint"),
            _l("the installed version and when it last validated the license"),
        ),
        (_l("nobody outside the vendor"),),
        RetentionRule.WITH_ACCOUNTS,
    ),
    Purpose(
        "orders",
        _l("Orders of renewals and extra seats, and their invoicing"),
        LegalBasis.LEGAL_OBLIGATION,
        (
            _l("what was ordered, for which license, and the prices"),
            _l("the invoice reference's name and email address"),
            _l("purchase-order number"),
            _l("who placed the order (a pseudonym once the login accounts are removed)"),
        ),
        (_l("authorities when the law or a decision requires it"),),
        RetentionRule.ORDER_BOOKKEEPING,
    ),
    Purpose(
        "security_audit",
        _l("Security log of sign-ins and changes"),
        LegalBasis.LEGITIMATE_INTEREST,
        (_l("what was done, when and from which address"),),
        (_l("authorities when the law or a decision requires it"),),
        RetentionRule.WITH_ACCOUNTS,
    ),
    Purpose(
        "third_party_contact",
        _l("Being contacted by other parties"),
        LegalBasis.CONSENT,
        (_l("name"), _l("email address")),
        (_l("only the parties the person agreed to"),),
        RetentionRule.UNTIL_WITHDRAWN,
    ),
)


def account_purge_date(relationship_ended_on: date, months: int) -> date:
    """The day login accounts go: `months` after the end (the last day of a shorter month)."""
    month_index = relationship_ended_on.month - 1 + months
    year = relationship_ended_on.year + month_index // 12
    month = month_index % 12 + 1
    day = min(relationship_ended_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def bookkeeping_end(relationship_ended_on: date) -> date:
    """Accounting records are kept until the end of the 7th year after the year of the end."""
    return date(relationship_ended_on.year + BOOKKEEPING_YEARS, 12, 31)


def order_retention_end(ordered_on: date) -> date:
    """An order and its lines are kept until the end of the 7th year after the order's year."""
    return date(ordered_on.year + BOOKKEEPING_YEARS, 12, 31)
