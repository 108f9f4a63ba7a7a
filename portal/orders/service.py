"""Ordering rules shared by the pages, the staff pages and the command line.

- A license manager or company admin puts a maintenance renewal (12 or 36 months) or extra seats
  of one of the company's licenses in force into the company's cart; a license whose maintenance
  covers every release has nothing to renew, and an item without a price cannot be ordered.
- Placing the order fixes the prices, VAT and totals on the order, empties the cart, keeps the
  invoice reference (an existing contact with that role, or a new one that becomes a contact and
  an accounting record) and mails the orderer, the license manager, the invoice reference and
  the vendor's order mailbox (`PORTAL_ORDERS_EMAIL`).
- Staff admins accept (the licenses change in the same transaction as the order's state) or
  decline with a reason. The state moves from requested by a conditional UPDATE, so an order
  accepted twice at once (two staff, two tabs) changes its licenses once.

Plain functions that never commit; every refusal is a `Refusal`.
"""

import calendar
import csv
import io
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from portal import audit, clock, mail
from portal.accounts.models import Account, AccountKind
from portal.accounts.service import current_manager
from portal.companies.models import Company
from portal.contacts import service as contacts
from portal.contacts.models import Contact, ContactRole
from portal.db import db
from portal.i18n import lazy_gettext as _l
from portal.licenses import service as licenses
from portal.licenses.models import License, LicenseState, Product
from portal.machines.service import lock_license
from portal.orders import money
from portal.orders.models import (
    ITEM_LABELS,
    MAX_EXTRA_SEATS,
    RENEWAL_MONTHS,
    CartLine,
    Item,
    Order,
    OrderLine,
    OrderState,
    Price,
)
from portal.refusals import Refusal
from portal.urls import external_url

# The license states in which something can be ordered for it.
ORDERABLE_STATES = frozenset({LicenseState.UPCOMING, LicenseState.ACTIVE, LicenseState.EXPIRING})

ALREADY_HANDLED = "order_already_handled"
EMPTY_CART = "empty_cart"
NO_PRICE = "no_price"
NOT_ORDERABLE = "not_orderable"


def _kind(item: Item) -> str:
    return "seats" if item == Item.EXTRA_SEAT else "renewal"


# --- the price list ----------------------------------------------------------------------------


def prices() -> dict[tuple[int, Item], int]:
    """Every price: (product id, item) → öre, excluding VAT."""
    return {
        (product_id, item): amount
        for product_id, item, amount in db.session.execute(
            sa.select(Price.product_id, Price.item, Price.amount_ore)
        )
    }


def price_of(product_id: int, item: Item) -> int | None:
    return db.session.scalar(
        sa.select(Price.amount_ore).where(Price.product_id == product_id, Price.item == item)
    )


def set_prices(product: Product, amounts: dict[Item, int | None], *, actor=None, actor_label=None):
    """Set the product's prices (None: no price, the item cannot be ordered); audited per change.

    Orders already placed keep the prices they were placed with.
    """
    existing = {
        price.item: price
        for price in db.session.scalars(sa.select(Price).where(Price.product_id == product.id))
    }
    changed = []
    for item, amount in amounts.items():
        if amount is not None:
            money.line_amount(amount, 1)  # an int of öre, never a float
            if not 0 <= amount <= money.MAX_PRICE_ORE:
                raise Refusal(_l("Enter a price between 0 and 100 000 000 kr."), field=item.value)
        price = existing.get(item)
        before = price.amount_ore if price is not None else None
        if before == amount:
            continue
        if amount is None:
            db.session.delete(price)
        elif price is None:
            db.session.add(Price(product_id=product.id, item=item, amount_ore=amount))
        else:
            price.amount_ore = amount
        changed.append(item)
        audit.record(
            "order_price.changed",
            actor=actor,
            actor_label=actor_label,
            subject=product,
            subject_label=product.name,
            details={"item": item.value, "before_ore": before, "after_ore": amount},
        )
    db.session.flush()
    return changed


# --- the cart ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    unit_price_ore: int | None
    amount_ore: int | None


@dataclass(frozen=True)
class Totals:
    net_ore: int
    vat_ore: int
    total_ore: int

    @classmethod
    def of(cls, net_ore: int) -> "Totals":
        vat = money.vat(net_ore)
        return cls(net_ore, vat, net_ore + vat)


@dataclass(frozen=True)
class Cart:
    lines: list[PricedLine]
    totals: Totals

    @property
    def is_empty(self) -> bool:
        return not self.lines


def cart_count(company_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(CartLine.id)).where(CartLine.company_id == company_id)
    )


def cart_of(company_id: int) -> Cart:
    lines = db.session.scalars(
        sa.select(CartLine).where(CartLine.company_id == company_id).order_by(CartLine.id)
    ).all()
    price_list = prices()
    priced = []
    net = 0
    for line in lines:
        unit = price_list.get((line.license.product_id, line.item))
        amount = money.line_amount(unit, line.quantity) if unit is not None else None
        net += amount or 0
        priced.append(PricedLine(line, unit, amount))
    return Cart(priced, Totals.of(net))


def orderable_problem(license: License, item: Item, today: date | None = None):
    """Why this item cannot be ordered for this license now, or None."""
    state = license.state_on(today or clock.today())
    if state not in ORDERABLE_STATES:
        return _l("Nothing can be ordered for a license that has expired or is revoked.")
    if item in RENEWAL_MONTHS and license.maintenance_until is None:
        return _l("This license already includes every release; there is no maintenance to renew.")
    if price_of(license.product_id, item) is None:
        return _l("This cannot be ordered in the portal yet. Contact us and we will help you.")
    return None


def add_to_cart(account: Account, license: License, item: Item, quantity: int = 1) -> CartLine:
    """Put the item in the company's cart: a renewal replaces the license's renewal line, extra
    seats add to its seats line."""
    if license.company_id != account.company_id:
        raise Refusal(_l("The license was not found."), code="unknown_license")
    problem = orderable_problem(license, item)
    if problem:
        raise Refusal(problem, code=NOT_ORDERABLE)
    if item != Item.EXTRA_SEAT:
        quantity = 1
    if not 1 <= quantity <= MAX_EXTRA_SEATS:
        raise Refusal(
            _l("Enter a number of seats from 1 to %(max)d.", max=MAX_EXTRA_SEATS), field="seats"
        )
    # One company's cart is changed by one request at a time (two tabs adding the same line).
    db.session.execute(
        sa.select(Company.id).where(Company.id == license.company_id).with_for_update()
    )
    kind = _kind(item)
    line = db.session.scalar(
        sa.select(CartLine).where(CartLine.license_id == license.id, CartLine.kind == kind)
    )
    if line is None:
        line = CartLine(
            company_id=license.company_id,
            license_id=license.id,
            item=item,
            kind=kind,
            quantity=quantity,
            added_by_id=account.id,
        )
        db.session.add(line)
    elif item == Item.EXTRA_SEAT:
        if line.quantity + quantity > MAX_EXTRA_SEATS:
            raise Refusal(
                _l("Enter a number of seats from 1 to %(max)d.", max=MAX_EXTRA_SEATS),
                field="seats",
            )
        line.quantity += quantity
    else:
        line.item = item
    db.session.flush()
    return line


def remove_from_cart(line: CartLine) -> None:
    db.session.delete(line)
    db.session.flush()


# --- placing an order --------------------------------------------------------------------------


def invoice_references(company_id: int) -> list[Contact]:
    return [c for c in contacts.contacts_of(company_id) if c.is_invoice_reference]


@dataclass(frozen=True)
class NewReference:
    name: str
    email: str
    phone: str | None


def place_order(
    account: Account,
    *,
    reference: Contact | NewReference,
    po_number: str | None = None,
) -> Order:
    """The cart becomes an order with its prices fixed; the cart is emptied; mails go out."""
    company_id = account.company_id
    db.session.execute(sa.select(Company.id).where(Company.id == company_id).with_for_update())
    cart = cart_of(company_id)
    if cart.is_empty:
        raise Refusal(_l("Your cart is empty."), code=EMPTY_CART)
    for priced in cart.lines:
        problem = orderable_problem(priced.line.license, priced.line.item)
        if problem:
            raise Refusal(problem, code=NOT_ORDERABLE)
    contact = _invoice_reference(account, reference)
    # The invoice reference on an order is an accounting record: kept for the bookkeeping period.
    contact.is_accounting_record = True
    order = Order(
        company_id=company_id,
        state=OrderState.REQUESTED,
        orderer_account_id=account.id,
        invoice_reference_contact_id=contact.id,
        invoice_reference_name=contact.name or contact.email,
        invoice_reference_email=contact.email,
        po_number=(po_number or "").strip() or None,
        net_ore=cart.totals.net_ore,
        vat_ore=cart.totals.vat_ore,
        total_ore=cart.totals.total_ore,
    )
    for priced in cart.lines:
        line = priced.line
        order.lines.append(
            OrderLine(
                license_id=line.license_id,
                product_id=line.license.product_id,
                product_name=line.license.product.name,
                license_label=line.license.masked_key,
                item=line.item,
                quantity=line.quantity,
                unit_price_ore=priced.unit_price_ore,
                amount_ore=priced.amount_ore,
            )
        )
    db.session.add(order)
    db.session.execute(
        sa.delete(CartLine).where(CartLine.company_id == company_id),
        execution_options={"synchronize_session": "fetch"},
    )
    db.session.flush()
    audit.record(
        "order.placed",
        actor=account,
        subject=order,
        company_id=company_id,
        details={
            "lines": len(order.lines),
            "net_ore": order.net_ore,
            "total_ore": order.total_ore,
            "invoice_reference_contact_id": contact.id,
        },
    )
    _mail_placed(order, account)
    return order


def _invoice_reference(account: Account, reference: Contact | NewReference) -> Contact:
    if isinstance(reference, Contact):
        if reference.company_id != account.company_id or not reference.is_invoice_reference:
            raise Refusal(_l("Choose one of the company's invoice references."), field="reference")
        return reference
    data = contacts.ContactData(
        kind=AccountKind.PERSONAL,
        name=reference.name,
        email=reference.email,
        phone_e164=contacts.parse_phone(reference.phone),
        roles=frozenset({ContactRole.INVOICE_REFERENCE}),
    )
    return contacts.create_contact(account.company_id, data, actor=account)


# --- the mails ---------------------------------------------------------------------------------


def _customer_recipients(order: Order, orderer: Account | None) -> list[tuple[str, str]]:
    """(address, language) of the orderer, the license manager and the invoice reference, each
    address once."""
    people: list[tuple[str, str]] = []
    if orderer is not None:
        people.append((orderer.email, orderer.language))
    manager = current_manager(order.company)
    if manager is not None:
        people.append((manager.email, manager.language))
    if order.invoice_reference_email:
        people.append((order.invoice_reference_email, "sv"))
    seen, unique = set(), []
    for address, language in people:
        if address.lower() not in seen:
            seen.add(address.lower())
            unique.append((address, language))
    return unique


def _mail_context(order: Order) -> dict:
    return {
        "order": order,
        "company": order.company,
        "format_sek": money.format_sek,
        "item_labels": ITEM_LABELS,
        "vat_percent": money.VAT_PERCENT,
        "link": external_url("portal.orders.detail", order_id=order.id),
    }


def _mail_placed(order: Order, orderer: Account) -> None:
    context = _mail_context(order)
    for address, language in _customer_recipients(order, orderer):
        mail.queue(address, "portal/orders/mail/order_placed", language=language, **context)
    vendor = current_app.config.get("PORTAL_ORDERS_EMAIL")
    if vendor:
        mail.queue(
            vendor,
            "portal/orders/mail/order_received",
            **{
                **context,
                "link": external_url("portal.orders.staff_detail", order_id=order.id),
            },
        )


def _mail_decided(order: Order, template: str) -> None:
    context = _mail_context(order)
    for address, language in _customer_recipients(order, order.orderer):
        mail.queue(address, template, language=language, **context)


# --- the vendor's handling ---------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of a shorter month)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _move_state(order_id: int, to: OrderState, actor, **values) -> None:
    """requested → `to`, or a Refusal when another request handled the order first.

    A conditional UPDATE: on PostgreSQL a second one waits for the first's row lock and then
    finds the state changed; on SQLite writers take turns. Either way only one wins.
    """
    changed = db.session.execute(
        sa.update(Order)
        .where(Order.id == order_id, Order.state == OrderState.REQUESTED)
        .values(
            state=to, decided_dt=clock.now(), decided_by_id=getattr(actor, "id", None), **values
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Refusal(_l("This order has already been handled."), code=ALREADY_HANDLED)


def accept_order(order: Order, *, actor=None, actor_label: str | None = None) -> Order:
    """Accept the order: its licenses change now, in this transaction, once."""
    if order.state != OrderState.REQUESTED:
        raise Refusal(_l("This order has already been handled."), code=ALREADY_HANDLED)
    today = clock.today()
    # The licenses first, locked in id order (the same order for every request), then the
    # order's state: a second acceptance waits here and then finds the order handled.
    locked = {}
    for license_id in sorted({line.license_id for line in order.lines if line.license_id}):
        license = lock_license(db.session.get(License, license_id))
        if license.revoked_dt is not None:
            raise Refusal(
                _l("A license of this order is revoked; decline the order instead."),
                code="revoked",
            )
        locked[license_id] = license
    _move_state(order.id, OrderState.ACCEPTED, actor)
    changes = []
    for line in order.lines:
        license = locked.get(line.license_id)
        if license is None:
            continue
        if line.item in RENEWAL_MONTHS:
            if license.maintenance_until is None:
                continue  # every release is already included
            start = max(license.maintenance_until, today)
            new_end = add_months(start, RENEWAL_MONTHS[line.item])
            licenses.extend_license(
                license,
                valid_until=license.valid_until,
                maintenance_until=new_end,
                actor=actor,
                actor_label=actor_label,
            )
            changes.append({"license_id": license.id, "maintenance_until": new_end.isoformat()})
        else:
            licenses.add_seats(license, line.quantity, actor=actor, actor_label=actor_label)
            changes.append({"license_id": license.id, "seats": license.seats})
    db.session.flush()
    db.session.refresh(order)
    audit.record(
        "order.accepted",
        actor=actor,
        actor_label=actor_label,
        subject=order,
        company_id=order.company_id,
        details={"changes": changes},
    )
    _mail_decided(order, "portal/orders/mail/order_accepted")
    return order


def decline_order(order: Order, reason: str, *, actor=None, actor_label: str | None = None):
    reason = (reason or "").strip()
    if not reason:
        raise Refusal(_l("Give the reason the customer will read."), field="reason")
    if order.state != OrderState.REQUESTED:
        raise Refusal(_l("This order has already been handled."), code=ALREADY_HANDLED)
    _move_state(order.id, OrderState.DECLINED, actor, decline_reason=reason[:500])
    db.session.refresh(order)
    audit.record(
        "order.declined",
        actor=actor,
        actor_label=actor_label,
        subject=order,
        company_id=order.company_id,
        reason=reason[:500],
    )
    _mail_decided(order, "portal/orders/mail/order_declined")
    return order


# --- bookkeeping -------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "order",
    "ordered_on",
    "state",
    "decided_on",
    "company",
    "orgnr",
    "invoice_reference",
    "po_number",
    "product",
    "license",
    "item",
    "quantity",
    "unit_price_sek",
    "amount_sek",
    "order_net_sek",
    "order_vat_sek",
    "order_total_sek",
)


def orders_between(start: date | None, end: date | None) -> list[Order]:
    statement = sa.select(Order).order_by(Order.ordered_on, Order.id)
    if start is not None:
        statement = statement.where(Order.ordered_on >= start)
    if end is not None:
        statement = statement.where(Order.ordered_on <= end)
    return list(db.session.scalars(statement))


def export_csv(start: date | None, end: date | None) -> str:
    """One row per order line, amounts in kronor with a decimal comma, separated by semicolons
    (what Swedish spreadsheets and bookkeeping programs read)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for order in orders_between(start, end):
        decided = clock_day(order.decided_dt) if order.decided_dt else ""
        for line in order.lines:
            writer.writerow(
                (
                    order.id,
                    order.ordered_on.isoformat(),
                    order.state.value,
                    decided,
                    order.company.name,
                    order.company.org_number,
                    order.invoice_reference_name,
                    order.po_number or "",
                    line.product_name,
                    line.license_label,
                    line.item.value,
                    line.quantity,
                    money.format_plain(line.unit_price_ore),
                    money.format_plain(line.amount_ore),
                    money.format_plain(order.net_ore),
                    money.format_plain(order.vat_ore),
                    money.format_plain(order.total_ore),
                )
            )
    return out.getvalue()


def clock_day(moment) -> str:
    return moment.astimezone(clock.LOCAL_TIMEZONE).date().isoformat()


# --- what the license and downloads pages offer ------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """What can be ordered for a license, with each item's price (None: not orderable)."""

    license: License
    prices: dict[Item, int | None]
    problems: dict[Item, object]

    @property
    def any_orderable(self) -> bool:
        return any(problem is None for problem in self.problems.values())


def offer_for(license: License, today: date | None = None) -> Offer:
    today = today or clock.today()
    return Offer(
        license,
        {item: price_of(license.product_id, item) for item in Item},
        {item: orderable_problem(license, item, today) for item in Item},
    )
