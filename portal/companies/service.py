"""Creating companies and ending or restarting the customer relationship."""

from datetime import date

import sqlalchemy as sa
from stdnum import exceptions
from stdnum.se import orgnr

from portal import audit
from portal.companies.models import Company
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal


def normalize_org_number(value: str) -> str:
    """A Swedish organisation number as NNNNNN-NNNN, or a Refusal for the `org_number` field."""
    try:
        compact = orgnr.validate(value)
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
    company.relationship_ended_on = None
    audit.record(
        "company.relationship_restarted", actor=actor, actor_label=actor_label, subject=company
    )
