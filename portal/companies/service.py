"""Creating companies and ending or restarting the customer relationship."""

from datetime import date

import sqlalchemy as sa

from portal import audit
from portal.companies import orgnr
from portal.companies.models import Company
from portal.db import db


class CompanyError(ValueError):
    """A request about a company that cannot be carried out; the message says why."""


def add_company(name: str, org_number: str, *, actor=None, actor_label=None) -> Company:
    name = name.strip()
    if not name:
        raise CompanyError("the company name is empty")
    try:
        normalized = orgnr.normalize(org_number)
    except orgnr.InvalidOrgNumber:
        raise CompanyError(f"{org_number!r} is not a valid Swedish organisation number") from None
    if db.session.scalar(sa.select(Company.id).where(Company.org_number == normalized)):
        raise CompanyError(f"a company with organisation number {normalized} already exists")
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
