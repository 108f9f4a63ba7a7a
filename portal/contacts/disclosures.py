"""Disclosures: what data about whom the vendor handed to whom, and on what ground.

The policy allows three kinds of recipient: an authority when the law or a decision requires it
(the decision's reference is kept; the record may be confidential, e.g. a police matter: then
nothing the customer reads shows it, neither the person's own export nor the company's activity,
until staff lift the confidentiality), a business partner such as the customer's bank during
start-up or troubleshooting (the purpose is kept), and any other party only while the person's
consent is active.

Plain functions that a view, a command and a job can all call; they never commit.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from portal import audit, clock
from portal.accounts.models import Account
from portal.audit import AuditEvent
from portal.companies.models import Company
from portal.contacts import consent
from portal.contacts.models import Contact, Disclosure, RecipientKind, SubjectKind
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.refusals import Refusal

LOCAL_TIME = clock.LOCAL_TIMEZONE


RECIPIENT_KIND_LABELS = {
    RecipientKind.AUTHORITY: _l("An authority (the law or a decision requires it)"),
    RecipientKind.BUSINESS_PARTNER: _l("A business partner, such as the customer's bank"),
    RecipientKind.OTHER_PARTY: _l("Another party (only with the person's consent)"),
}


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
        raise Refusal(_l("Choose a person of this company."), field="subject")
    if request.disclosed_on > clock.today():
        raise Refusal(_l("The date cannot be in the future."), field="disclosed_on")
    if request.confidential and request.recipient_kind != RecipientKind.AUTHORITY:
        raise Refusal(
            _l("Only a disclosure to an authority can be confidential."), field="confidential"
        )
    consent_record = None
    if request.recipient_kind == RecipientKind.AUTHORITY and not request.decision_reference:
        raise Refusal(
            _l("Enter the reference of the decision or the law that requires the disclosure."),
            field="decision_reference",
        )
    if request.recipient_kind == RecipientKind.BUSINESS_PARTNER and not request.purpose:
        raise Refusal(
            _l("Enter the purpose, for example start-up or troubleshooting with the bank."),
            field="purpose",
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
        raise Refusal(
            _l(
                "Data may be given to another party only about a person who has consented. "
                "Choose the person."
            ),
            field="subject",
        )
    record = consent.active_consent(subject)
    if record is None:
        raise Refusal(
            _l(
                "Refused: this person has not consented to their data being given to other "
                "parties, or has withdrawn the consent. Without an active consent the data may "
                "only go to an authority or a business partner."
            ),
            field="recipient_kind",
        )
    if record.given_dt.astimezone(LOCAL_TIME).date() > disclosed_on:
        raise Refusal(
            _l("The person's consent was given after this date; it does not cover it."),
            field="disclosed_on",
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


def lift_confidentiality(disclosure: Disclosure, reason: str, *, actor: Account) -> None:
    """Staff lift a confidential disclosure: from now on the company and the person see it."""
    if not disclosure.confidential:
        raise Refusal(_l("This disclosure is not confidential."), code="not_confidential")
    disclosure.confidential = False
    audit.record(
        "disclosure.confidentiality_lifted",
        actor=actor,
        subject=disclosure,
        company_id=disclosure.company_id,
        reason=reason,
        details={"recipient_kind": str(disclosure.recipient_kind)},
    )


def readable_by_the_company():
    """The audit events a customer may read (the company's activity, a person's export): all
    but those about a disclosure that is still confidential. One SQL condition, for every list."""
    return ~sa.exists().where(
        AuditEvent.subject_type == Disclosure.__name__,
        Disclosure.id == AuditEvent.subject_id,
        Disclosure.confidential.is_(True),
    )
