import enum
from datetime import datetime

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
