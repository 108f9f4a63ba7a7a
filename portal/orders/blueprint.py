"""Every URL of ordering: the company's cart and orders, and the vendor's handling of them."""

from flask import Blueprint

from portal.licenses import views as license_views
from portal.orders import staff_views, views

bp = Blueprint("orders", __name__)

license_views.LICENSE_PAGE_SECTIONS.append(views.license_section)

bp.add_url_rule("/cart", "cart", views.cart)
bp.add_url_rule("/cart/add", "add_to_cart", views.add_to_cart, methods=["POST"])
bp.add_url_rule(
    "/cart/lines/<id:line_id>/remove",
    "remove_from_cart",
    views.remove_from_cart,
    methods=["POST"],
)
bp.add_url_rule("/cart/checkout", "checkout", views.checkout, methods=["GET", "POST"])
bp.add_url_rule("/orders/", "index", views.index)
bp.add_url_rule("/orders/<id:order_id>", "detail", views.detail)

bp.add_url_rule("/staff/orders/", "staff_index", staff_views.index)
bp.add_url_rule("/staff/orders/<id:order_id>", "staff_detail", staff_views.detail)
bp.add_url_rule(
    "/staff/orders/<id:order_id>/accept", "staff_accept", staff_views.accept, methods=["POST"]
)
bp.add_url_rule(
    "/staff/orders/<id:order_id>/decline",
    "staff_decline",
    staff_views.decline,
    methods=["GET", "POST"],
)
bp.add_url_rule("/staff/orders/prices", "staff_prices", staff_views.prices)
bp.add_url_rule(
    "/staff/orders/prices/<id:product_id>",
    "staff_edit_prices",
    staff_views.edit_prices,
    methods=["GET", "POST"],
)
bp.add_url_rule("/staff/orders/export", "staff_export", staff_views.export)
