"""Creating companies and ending or restarting the customer relationship: the rules that the
command line and the staff admin's pages share."""

from datetime import date

import sqlalchemy as sa
from stdnum import exceptions
from stdnum.se import orgnr

from portal import audit
from portal.companies.models import Company
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

# The 12-digit form of a legal person's number puts the "century" 16 in front of the 10 digits.
LEGAL_PERSON_CENTURY = "16"


def normalize_org_number(value: str) -> str:
    """A Swedish organisation number as NNNNNN-NNNN (the one stored form), from its 10-digit
    form or its 12-digit form with 16 in front, or a Refusal for the `org_number` field."""
    compact = orgnr.compact(value or "")
    if len(compact) == 12 and compact.startswith(LEGAL_PERSON_CENTURY):
        compact = compact[len(LEGAL_PERSON_CENTURY) :]
    try:
        compact = orgnr.validate(compact)
    except exceptions.ValidationError:
        raise Refusal(
            _l("%(value)s is not a valid Swedish organisation number.", value=repr(value)),
            field="org_number",
            code="invalid_org_number",
        ) from None
    return orgnr.format(compact)


def company_or_refuse(company_id: int) -> Company:
    company = db.session.get(Company, company_id)
    if company is None:
        raise Refusal(
            _l("There is no company with id %(id)s.", id=company_id), code="unknown_company"
        )
    return company


def add_company(name: str, org_number: str, *, actor=None, actor_label=None) -> Company:
    name = name.strip()
    if not name:
        raise Refusal(_l("Enter the company's name."), field="name", code="empty_name")
    normalized = normalize_org_number(org_number)
    if db.session.scalar(sa.select(Company.id).where(Company.org_number == normalized)):
        raise Refusal(
            _l("A company with organisation number %(number)s already exists.", number=normalized),
            field="org_number",
            code="duplicate_org_number",
        )
    company = Company(name=name, org_number=normalized)
    db.session.add(company)
    db.session.flush()
    audit.record("company.created", actor=actor, actor_label=actor_label, subject=company)
    return company


def end_relationship(company: Company, ended_on: date, *, actor=None, actor_label=None) -> None:
    company.relationship_ended_on = ended_on
    audit.record(
        "company.relationship_ended",
        actor=actor,
        actor_label=actor_label,
        subject=company,
        details={"ended_on": ended_on.isoformat()},
    )


def restart_relationship(company: Company, *, actor=None, actor_label=None) -> None:
    if company.relationship_ended_on is None:
        raise Refusal(
            _l(
                "%(name)s is a customer; there is no ended relationship to restart.",
                name=company.name,
            ),
            code="not_ended",
        )
    company.relationship_ended_on = None
    audit.record(
        "company.relationship_restarted", actor=actor, actor_label=actor_label, subject=company
    )
