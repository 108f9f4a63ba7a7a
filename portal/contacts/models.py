"""The contacts' tables: a company's contacts, the consents people gave, and disclosures."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal import clock, phone
from portal.accounts.models import AccountKind
from portal.db import db, enum_column


class ContactRole(enum.StrEnum):
    INVOICE_REFERENCE = "invoice_reference"
    CONTRACT_PARTY = "contract_party"
    TECHNICAL_CONTACT = "technical_contact"


class Contact(db.Model):
    """A company's record of a person or function address; not necessarily a login."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AccountKind] = mapped_column(
        enum_column(AccountKind, name="contactkind"), default=AccountKind.PERSONAL
    )
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    phone_e164: Mapped[str | None] = mapped_column(sa.String(20))
    is_invoice_reference: Mapped[bool] = mapped_column(default=False)
    is_contract_party: Mapped[bool] = mapped_column(default=False)
    is_technical_contact: Mapped[bool] = mapped_column(default=False)
    # An accounting record (e.g. the invoice reference on issued invoices) is kept for the
    # bookkeeping period, even after the login accounts are purged.
    is_accounting_record: Mapped[bool] = mapped_column(default=False)
    created_dt: Mapped[datetime] = mapped_column(default=clock.now)
    updated_dt: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    __table_args__ = (sa.UniqueConstraint("company_id", "email"),)

    @property
    def phone_national(self) -> str:
        """The phone as a Swedish reader writes it (070-123 45 67); foreign ones with +code."""
        return phone.national(self.phone_e164)

    @property
    def is_personal(self) -> bool:
        return self.kind == AccountKind.PERSONAL

    @property
    def roles(self) -> list[ContactRole]:
        flags = {
            ContactRole.INVOICE_REFERENCE: self.is_invoice_reference,
            ContactRole.CONTRACT_PARTY: self.is_contract_party,
            ContactRole.TECHNICAL_CONTACT: self.is_technical_contact,
        }
        return [role for role, held in flags.items() if held]


# The purpose in the processing register that the consents are for.
CONSENT_PURPOSE = "third_party_contact"


class RecordedBy(enum.StrEnum):
    SELF = "self"  # the person, signed in
    COMPANY_ADMIN = "company_admin"  # an admin of the person's company, on their behalf


class ConsentRecord(db.Model):
    """One consent given by a person (a login account or a company contact)."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The person: exactly one of the two. Their consents go when they go.
    account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(sa.String(64), default=CONSENT_PURPOSE)
    text_version: Mapped[int]
    language: Mapped[str] = mapped_column(sa.String(5))
    text: Mapped[str] = mapped_column(sa.Text)
    given_dt: Mapped[datetime] = mapped_column(default=clock.now)
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    recorded_by: Mapped[RecordedBy] = mapped_column(enum_column(RecordedBy, name="recordedby"))
    withdrawn_dt: Mapped[datetime | None]
    withdrawn_by_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    withdrawn_by: Mapped[RecordedBy | None] = mapped_column(
        enum_column(RecordedBy, name="withdrawnby")
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(account_id IS NOT NULL AND contact_id IS NULL)"
            " OR (account_id IS NULL AND contact_id IS NOT NULL)",
            name="one_person",
        ),
    )

    @property
    def is_active(self) -> bool:
        return self.withdrawn_dt is None


class RecipientKind(enum.StrEnum):
    AUTHORITY = "authority"
    BUSINESS_PARTNER = "business_partner"
    OTHER_PARTY = "other_party"


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
        sa.ForeignKey("consent_records.id", ondelete="SET NULL"), index=True
    )
    recorded_dt: Mapped[datetime] = mapped_column(default=clock.now)
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        sa.CheckConstraint("account_id IS NULL OR contact_id IS NULL", name="one_person"),
    )
