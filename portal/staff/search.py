"""Finding customers for support: by company name, organisation number or email address."""

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.accounts.models import Account
from portal.companies.models import Company
from portal.companies.service import LEGAL_PERSON_CENTURY
from portal.contacts.models import Contact
from portal.db import db

RESULT_LIMIT = 100
ORG_NUMBER_LIKE = re.compile(r"[\d\s-]+")
MIN_ORG_NUMBER_DIGITS = 3


@dataclass
class SearchResult:
    companies: list[Company] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    truncated: bool = False


def search(text: str | None) -> SearchResult:
    """Companies whose name, organisation number or a login's or contact's email matches, and
    the customer accounts whose email or name matches. Empty text lists every company."""
    needle = (text or "").strip().lower()
    companies = sa.select(Company).order_by(Company.name, Company.id).limit(RESULT_LIMIT + 1)
    if not needle:
        found = list(db.session.scalars(companies))
        return SearchResult(found[:RESULT_LIMIT], [], len(found) > RESULT_LIMIT)

    account_matches = sa.or_(
        sa.func.lower(Account.email).contains(needle, autoescape=True),
        sa.func.lower(Account.name).contains(needle, autoescape=True),
    )
    conditions = [
        sa.func.lower(Company.name).contains(needle, autoescape=True),
        Company.id.in_(
            sa.select(Account.company_id).where(Account.company_id.is_not(None), account_matches)
        ),
        Company.id.in_(
            sa.select(Contact.company_id).where(
                sa.func.lower(Contact.email).contains(needle, autoescape=True)
            )
        ),
    ]
    digits = re.sub(r"\D", "", needle)
    if len(digits) == 12 and digits.startswith(LEGAL_PERSON_CENTURY):
        digits = digits[len(LEGAL_PERSON_CENTURY) :]  # the 12-digit form of the stored number
    if ORG_NUMBER_LIKE.fullmatch(needle) and len(digits) >= MIN_ORG_NUMBER_DIGITS:
        conditions.append(sa.func.replace(Company.org_number, "-", "").contains(digits))
    found = list(db.session.scalars(companies.where(sa.or_(*conditions))))
    accounts = list(
        db.session.scalars(
            sa.select(Account)
            .where(Account.company_id.is_not(None), account_matches)
            .order_by(Account.email)
            .limit(RESULT_LIMIT + 1)
        )
    )
    return SearchResult(
        found[:RESULT_LIMIT],
        accounts[:RESULT_LIMIT],
        len(found) > RESULT_LIMIT or len(accounts) > RESULT_LIMIT,
    )
