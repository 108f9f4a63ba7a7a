"""The company's cart, checking out, and its orders."""

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_login import current_user

from portal import access
from portal.accounts.service import LICENSE_MANAGER_OR_ADMIN
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.licenses.models import License, LicenseState
from portal.orders import money, service
from portal.orders.forms import NEW_REFERENCE, AddToCartForm, CheckoutForm
from portal.orders.models import ITEM_LABELS, ORDER_STATE_LABELS, CartLine, Item, Order
from portal.refusals import Refusal
from portal.rendering import render_template


def may_order() -> bool:
    """Whether the signed-in user may use the cart (asked once per request: the header, the
    license page and the downloads page all want to know)."""
    if _MAY_ORDER not in g:
        setattr(g, _MAY_ORDER, LICENSE_MANAGER_OR_ADMIN.allows(current_user))
    return getattr(g, _MAY_ORDER)


_MAY_ORDER = "portal_orders_may_order"


def _account():
    return current_user._get_current_object()


def _back(default: str) -> str:
    """Back to the page the form was on (a path of this site only)."""
    target = request.form.get("back", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@LICENSE_MANAGER_OR_ADMIN
def cart():
    return render_template(
        "portal/orders/cart.html",
        cart=service.cart_of(current_user.company_id),
        item_labels=ITEM_LABELS,
        format_sek=money.format_sek,
        vat_percent=money.VAT_PERCENT,
    )


@LICENSE_MANAGER_OR_ADMIN
def add_to_cart():
    form = AddToCartForm()
    back = _back(url_for(".cart"))
    if not form.validate_on_submit():
        messages = [error for field in form for error in field.errors]
        flash(messages[0] if messages else _("Choose what to order."), "error")
        return redirect(back)
    license_id = int(form.license_id.data) if str(form.license_id.data).isdigit() else 0
    license = db.session.scalar(
        sa.select(License).where(
            License.id == license_id, License.company_id == current_user.company_id
        )
    )
    if license is None:
        abort(404)
    item = Item(form.item.data)
    try:
        service.add_to_cart(_account(), license, item, form.seats.data or 1)
    except Refusal as refusal:
        flash(refusal.message, "error")
        return redirect(back)
    flash(
        _(
            "%(item)s for %(product)s is in your cart.",
            item=ITEM_LABELS[item],
            product=license.product.name,
        ),
        "success",
    )
    return redirect(url_for(".cart"))


@LICENSE_MANAGER_OR_ADMIN
def remove_from_cart(line_id: int):
    line = db.session.scalar(
        sa.select(CartLine).where(
            CartLine.id == line_id, CartLine.company_id == current_user.company_id
        )
    )
    if line is None:
        abort(404)
    service.remove_from_cart(line)
    flash(_("The line is removed from your cart."), "success")
    return redirect(url_for(".cart"))


@LICENSE_MANAGER_OR_ADMIN
def checkout():
    account = _account()
    cart = service.cart_of(account.company_id)
    if cart.is_empty:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for(".cart"))
    references = service.invoice_references(account.company_id)
    form = CheckoutForm(references)
    if form.validate_on_submit():
        if form.reference.data == NEW_REFERENCE:
            reference = service.NewReference(form.name.data, form.email.data, form.phone.data)
        else:
            reference = next(c for c in references if str(c.id) == form.reference.data)
        try:
            order = service.place_order(account, reference=reference, po_number=form.po_number.data)
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            flash(
                _(
                    "Thank you. Your order %(number)s is placed. We have sent a confirmation by"
                    " email and will invoice the company when the order is accepted.",
                    number=order.id,
                ),
                "success",
            )
            return redirect(url_for(".detail", order_id=order.id))
    return render_template(
        "portal/orders/checkout.html",
        form=form,
        cart=cart,
        item_labels=ITEM_LABELS,
        format_sek=money.format_sek,
        vat_percent=money.VAT_PERCENT,
        new_reference=NEW_REFERENCE,
    )


@access.CUSTOMER
def index():
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.company_id == current_user.company_id)
        .order_by(Order.placed_dt.desc(), Order.id.desc())
    ).all()
    return render_template(
        "portal/orders/index.html",
        orders=orders,
        state_labels=ORDER_STATE_LABELS,
        format_sek=money.format_sek,
    )


@access.CUSTOMER
def detail(order_id: int):
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id, Order.company_id == current_user.company_id)
    )
    if order is None:
        abort(404)
    return render_template(
        "portal/orders/detail.html",
        order=order,
        state_labels=ORDER_STATE_LABELS,
        item_labels=ITEM_LABELS,
        format_sek=money.format_sek,
        vat_percent=money.VAT_PERCENT,
    )


# --- sections of other features' pages --------------------------------------------------------


def license_section(license: License, state: LicenseState) -> dict:
    """The license page's "order" box (portal.licenses' LICENSE_PAGE_SECTIONS)."""
    if not may_order():
        return {"order_offer": None}
    return {
        "order_offer": service.offer_for(license),
        "order_form": AddToCartForm(formdata=None, license_id=license.id),
        "item_labels": ITEM_LABELS,
        "format_sek": money.format_sek,
    }
