"""The price list, the company's cart, and orders with their lines (accounting records).

Amounts are whole öre in integer columns (`portal.orders.money`). An order keeps what was
ordered and at which price when it was placed; later price changes never touch it. Orders and
lines are kept for the bookkeeping period (`portal.register.order_retention_end`) even after the
company's login accounts are removed: the orderer is then only a pseudonym (`orderer_label`),
and of the invoice reference only the name stays.
"""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.db import db, enum_column
from portal.i18n import lazy_gettext as _l


class Item(enum.StrEnum):
    """What can be ordered for a license; each has its price per product."""

    RENEWAL_12 = "renewal_12"  # maintenance renewed for 12 months
    RENEWAL_36 = "renewal_36"  # maintenance renewed for 36 months
    EXTRA_SEAT = "extra_seat"  # one more seat (ordered with a quantity)


RENEWAL_MONTHS = {Item.RENEWAL_12: 12, Item.RENEWAL_36: 36}
ITEM_LABELS = {
    Item.RENEWAL_12: _l("Maintenance renewal, 12 months"),
    Item.RENEWAL_36: _l("Maintenance renewal, 36 months"),
    Item.EXTRA_SEAT: _l("Extra seats"),
}
MAX_EXTRA_SEATS = 1000


class OrderState(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"


ORDER_STATE_LABELS = {
    OrderState.REQUESTED: _l("Requested"),
    OrderState.ACCEPTED: _l("Accepted"),
    OrderState.DECLINED: _l("Declined"),
}


class Price(db.Model):
    """The vendor's price (excluding VAT) of one item of one product."""

    __tablename__ = "order_prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"))
    item: Mapped[Item] = mapped_column(enum_column(Item, name="orderitem"))
    amount_ore: Mapped[int] = mapped_column(sa.BigInteger)
    updated_dt: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    __table_args__ = (
        sa.UniqueConstraint("product_id", "item"),
        sa.CheckConstraint("amount_ore >= 0", name="price_not_negative"),
    )


class CartLine(db.Model):
    """One line of a company's cart: a renewal or extra seats for one of its licenses.

    A license has at most one renewal line (12 or 36 months; choosing again replaces it) and one
    line of extra seats (adding more raises its quantity).
    """

    __tablename__ = "cart_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    license_id: Mapped[int] = mapped_column(
        sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[Item] = mapped_column(enum_column(Item, name="orderitem"))
    # "renewal" or "seats": the unique key that keeps one line of each kind per license.
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int] = mapped_column(default=1)
    added_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    added_dt: Mapped[datetime] = mapped_column(default=clock.now)

    license = relationship("License", lazy="joined", innerjoin=True)

    __table_args__ = (
        sa.UniqueConstraint("license_id", "kind"),
        sa.CheckConstraint("quantity > 0", name="cart_quantity_positive"),
    )


class Order(db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(
        sa.ForeignKey("companies.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[OrderState] = mapped_column(
        enum_column(OrderState, name="orderstate"), default=OrderState.REQUESTED, index=True
    )
    placed_dt: Mapped[datetime] = mapped_column(default=clock.now)
    # The day in Stockholm it was placed: the bookkeeping period and the export go by it.
    ordered_on: Mapped[date] = mapped_column(default=clock.today, index=True)
    # The orderer: the account while it exists; when the purge removes it, a pseudonym only.
    orderer_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    orderer_label: Mapped[str | None] = mapped_column(sa.String(40))
    # The invoice reference as it was when the order was placed; the name is an accounting
    # record (kept), the address goes with the company's login accounts.
    invoice_reference_contact_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    invoice_reference_name: Mapped[str] = mapped_column(sa.String(200))
    invoice_reference_email: Mapped[str | None] = mapped_column(sa.String(254))
    po_number: Mapped[str | None] = mapped_column(sa.String(60))
    net_ore: Mapped[int] = mapped_column(sa.BigInteger)
    vat_ore: Mapped[int] = mapped_column(sa.BigInteger)
    total_ore: Mapped[int] = mapped_column(sa.BigInteger)
    decided_dt: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))

    company = relationship("Company", lazy="joined", innerjoin=True)
    orderer = relationship("Account", foreign_keys=[orderer_account_id])
    lines: Mapped[list["OrderLine"]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan"
    )

    def orderer_shown(self) -> str | None:
        """Who placed the order: the account's name, or the pseudonym once it is removed."""
        if self.orderer is not None:
            return self.orderer.display_name
        return self.orderer_label


class OrderLine(db.Model):
    """What was ordered, for which license, at which price: fixed when the order was placed."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    license_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("licenses.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="RESTRICT"))
    product_name: Mapped[str] = mapped_column(sa.String(120))
    license_label: Mapped[str] = mapped_column(sa.String(29))  # the masked key
    item: Mapped[Item] = mapped_column(enum_column(Item, name="orderitem"))
    quantity: Mapped[int]
    unit_price_ore: Mapped[int] = mapped_column(sa.BigInteger)
    amount_ore: Mapped[int] = mapped_column(sa.BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="order_quantity_positive"),)
