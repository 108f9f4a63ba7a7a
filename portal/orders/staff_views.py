"""The vendor's handling of orders: incoming orders, accepting and declining, the price list and
the bookkeeping export. Staff read; staff admins change."""

from datetime import date

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal import access, audit, clock, http
from portal.db import db
from portal.forms import show_refusal
from portal.i18n import gettext as _
from portal.licenses.models import Product
from portal.orders import money, service
from portal.orders.forms import ConfirmForm, DeclineForm, PricesForm
from portal.orders.models import ITEM_LABELS, ORDER_STATE_LABELS, Item, Order, OrderState
from portal.refusals import Refusal
from portal.rendering import render_template


def _actor():
    return current_user._get_current_object()


def _can_change() -> bool:
    return access.STAFF_ADMIN.allows(current_user)


@access.STAFF
def index():
    shown = request.args.get("state", OrderState.REQUESTED.value)
    statement = sa.select(Order).order_by(Order.placed_dt.desc(), Order.id.desc())
    if shown in {state.value for state in OrderState}:
        statement = statement.where(Order.state == OrderState(shown))
    else:
        shown = "all"
    return render_template(
        "portal/orders/staff_index.html",
        orders=db.session.scalars(statement.limit(500)).all(),
        shown=shown,
        states=OrderState,
        state_labels=ORDER_STATE_LABELS,
        format_sek=money.format_sek,
        can_change=_can_change(),
        today=clock.today(),
    )


@access.STAFF
def detail(order_id: int):
    order = db.get_or_404(Order, order_id)
    return _render_detail(order, DeclineForm(formdata=None))


def _render_detail(order: Order, decline_form):
    return render_template(
        "portal/orders/staff_detail.html",
        order=order,
        state_labels=ORDER_STATE_LABELS,
        item_labels=ITEM_LABELS,
        format_sek=money.format_sek,
        vat_percent=money.VAT_PERCENT,
        can_change=_can_change(),
        accept_form=ConfirmForm(formdata=None),
        decline_form=decline_form,
    )


@access.STAFF_ADMIN
def accept(order_id: int):
    order = db.get_or_404(Order, order_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.accept_order(order, actor=_actor())
        except Refusal as refusal:
            flash(refusal.message, "error")
        else:
            flash(
                _("Order %(number)s is accepted; the licenses are changed.", number=order.id),
                "success",
            )
    return redirect(url_for(".staff_detail", order_id=order.id))


@access.STAFF_ADMIN
def decline(order_id: int):
    order = db.get_or_404(Order, order_id)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            service.decline_order(order, form.reason.data, actor=_actor())
        except Refusal as refusal:
            show_refusal(form, refusal, "reason")
        else:
            flash(_("Order %(number)s is declined.", number=order.id), "success")
            return redirect(url_for(".staff_detail", order_id=order.id))
    return _render_detail(order, form)


@access.STAFF
def prices():
    products = db.session.scalars(sa.select(Product).order_by(Product.name)).all()
    return render_template(
        "portal/orders/staff_prices.html",
        products=products,
        prices=service.prices(),
        items=list(Item),
        item_labels=ITEM_LABELS,
        format_sek=money.format_sek,
        vat_percent=money.VAT_PERCENT,
        can_change=_can_change(),
    )


@access.STAFF_ADMIN
def edit_prices(product_id: int):
    product = db.get_or_404(Product, product_id)
    current = service.prices()
    form = PricesForm(
        data={
            item.value: money.format_plain(current[(product.id, item)])
            if (product.id, item) in current
            else ""
            for item in Item
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            changed = service.set_prices(product, form.amounts(), actor=_actor())
        except Refusal as refusal:
            show_refusal(form, refusal)
        else:
            if changed:
                flash(_("The prices of %(product)s are saved.", product=product.name), "success")
            else:
                flash(_("Nothing was changed."), "info")
            return redirect(url_for(".staff_prices"))
    return render_template(
        "portal/orders/staff_prices_form.html",
        form=form,
        product=product,
        vat_percent=money.VAT_PERCENT,
    )


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@access.STAFF_ADMIN
def export():
    start, end = _day("from"), _day("to")
    problems = [
        name for name in ("from", "to") if request.args.get(name, "").strip() and _day(name) is None
    ]
    if problems or (start and end and end < start):
        flash(_("Enter the period as two dates, the first not after the second."), "error")
        return redirect(url_for(".staff_index"))
    body = service.export_csv(start, end)
    audit.record(
        "order.exported",
        actor=_actor(),
        details={
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
        },
    )
    label = f"{start.isoformat() if start else 'start'}_{end.isoformat() if end else 'end'}"
    response = http.no_store(
        (
            "\ufeff" + body,
            200,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="orders_{label}.csv"',
            },
        )
    )
    return response
