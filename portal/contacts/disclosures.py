"""Disclosures: what data about whom the vendor handed to whom, and on what ground.

The policy allows three kinds of recipient: an authority when the law or a decision requires it
(the decision's reference is kept; the record may be confidential, e.g. a police matter, and is
then left out of the person's own export), a business partner such as the customer's bank during
start-up or troubleshooting (the purpose is kept), and any other party only while the person's
consent is active.

Plain functions that a view, a command and a job can all call; they never commit.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from portal import audit, clock
from portal.accounts.models import Account
from portal.companies.models import Company
from portal.contacts import consent
from portal.contacts.models import Contact
from portal.db import db, enum_column

LOCAL_TIME = clock.LOCAL_TIMEZONE


class RecipientKind(enum.StrEnum):
    AUTHORITY = "authority"
    BUSINESS_PARTNER = "business_partner"
    OTHER_PARTY = "other_party"


RECIPIENT_KIND_LABELS = {
    RecipientKind.AUTHORITY: _l("An authority (the law or a decision requires it)"),
    RecipientKind.BUSINESS_PARTNER: _l("A business partner, such as the customer's bank"),
    RecipientKind.OTHER_PARTY: _l("Another party (only with the person's consent)"),
}


class SubjectKind(enum.StrEnum):
    COMPANY = "company"
    ACCOUNT = "account"
    CONTACT = "contact"


class Disclosure(db.Model):
    __tablename__ = "disclosures"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    subject_kind: Mapped[SubjectKind] = mapped_column(enum_column(SubjectKind))
    # The person, while they exist: the fact of the disclosure outlives an erased person.
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    recipient_kind: Mapped[RecipientKind] = mapped_column(enum_column(RecipientKind))
    recipient_name: Mapped[str] = mapped_column(sa.String(200))
    data_disclosed: Mapped[str] = mapped_column(sa.String(2000))
    disclosed_on: Mapped[date]
    decision_reference: Mapped[str | None] = mapped_column(sa.String(200))
    purpose: Mapped[str | None] = mapped_column(sa.String(500))
    confidential: Mapped[bool] = mapped_column(default=False)
    # The consent relied on for a disclosure to another party.
    consent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("consent_records.id", ondelete="SET NULL")
    )
    recorded_dt: Mapped[datetime] = mapped_column(default=clock.now)
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL")
    )

    __table_args__ = (
        sa.CheckConstraint("account_id IS NULL OR contact_id IS NULL", name="one_person"),
    )


class DisclosureError(ValueError):
    """A disclosure that may not be recorded; `field` names the form field the reason belongs to."""

    def __init__(self, message, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class DisclosureRequest:
    recipient_kind: RecipientKind
    recipient_name: str
    data_disclosed: str
    disclosed_on: date
    decision_reference: str | None = None
    purpose: str | None = None
    confidential: bool = False


def _subject_kind(subject) -> SubjectKind:
    if isinstance(subject, Company):
        return SubjectKind.COMPANY
    if isinstance(subject, Account):
        return SubjectKind.ACCOUNT
    if isinstance(subject, Contact):
        return SubjectKind.CONTACT
    raise TypeError(f"a disclosure is about a company, an account or a contact, not {subject!r}")


def record_disclosure(
    company: Company, subject, request: DisclosureRequest, *, actor: Account
) -> Disclosure:
    """Record a disclosure about `subject` (the company, or one of its accounts or contacts)."""
    kind = _subject_kind(subject)
    if kind != SubjectKind.COMPANY and subject.company_id != company.id:
        raise DisclosureError(_l("Choose a person of this company."), "subject")
    if request.disclosed_on > clock.today():
        raise DisclosureError(_l("The date cannot be in the future."), "disclosed_on")
    if request.confidential and request.recipient_kind != RecipientKind.AUTHORITY:
        raise DisclosureError(
            _l("Only a disclosure to an authority can be confidential."), "confidential"
        )
    consent_record = None
    if request.recipient_kind == RecipientKind.AUTHORITY and not request.decision_reference:
        raise DisclosureError(
            _l("Enter the reference of the decision or the law that requires the disclosure."),
            "decision_reference",
        )
    if request.recipient_kind == RecipientKind.BUSINESS_PARTNER and not request.purpose:
        raise DisclosureError(
            _l("Enter the purpose, for example start-up or troubleshooting with the bank."),
            "purpose",
        )
    if request.recipient_kind == RecipientKind.OTHER_PARTY:
        consent_record = _consent_for_other_party(subject, request.disclosed_on)
    disclosure = Disclosure(
        company_id=company.id,
        subject_kind=kind,
        account_id=subject.id if kind == SubjectKind.ACCOUNT else None,
        contact_id=subject.id if kind == SubjectKind.CONTACT else None,
        recipient_kind=request.recipient_kind,
        recipient_name=request.recipient_name,
        data_disclosed=request.data_disclosed,
        disclosed_on=request.disclosed_on,
        decision_reference=request.decision_reference
        if request.recipient_kind == RecipientKind.AUTHORITY
        else None,
        purpose=request.purpose,
        confidential=request.confidential,
        consent_id=consent_record.id if consent_record is not None else None,
        recorded_dt=clock.now(),
        recorded_by_account_id=actor.id,
    )
    db.session.add(disclosure)
    db.session.flush()
    # The event's subject is the disclosure, not the person: a confidential disclosure must not
    # appear among the audit events a person sees in their own export.
    audit.record(
        "disclosure.recorded",
        actor=actor,
        subject=disclosure,
        company_id=company.id,
        details={
            "recipient_kind": str(request.recipient_kind),
            "subject_kind": str(kind),
            "confidential": request.confidential,
        },
    )
    return disclosure


def _consent_for_other_party(subject, disclosed_on: date):
    if isinstance(subject, Company):
        raise DisclosureError(
            _l(
                "Data may be given to another party only about a person who has consented. "
                "Choose the person."
            ),
            "subject",
        )
    record = consent.active_consent(subject)
    if record is None:
        raise DisclosureError(
            _l(
                "Refused: this person has not consented to their data being given to other "
                "parties, or has withdrawn the consent. Without an active consent the data may "
                "only go to an authority or a business partner."
            ),
            "recipient_kind",
        )
    if record.given_dt.astimezone(LOCAL_TIME).date() > disclosed_on:
        raise DisclosureError(
            _l("The person's consent was given after this date; it does not cover it."),
            "disclosed_on",
        )
    return record


def disclosures_about_person(account: Account, contact_ids: list[int]) -> list[Disclosure]:
    """What a person may see about themselves: everything except confidential records."""
    clauses = [Disclosure.account_id == account.id]
    if contact_ids:
        clauses.append(Disclosure.contact_id.in_(contact_ids))
    return list(
        db.session.scalars(
            sa.select(Disclosure)
            .where(sa.or_(*clauses), Disclosure.confidential.is_(False))
            .order_by(Disclosure.disclosed_on.desc(), Disclosure.id.desc())
        )
    )
