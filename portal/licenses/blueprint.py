"""Every URL of licenses: the company's list and license pages, the license manager, and the
staff's administration of licenses, products and releases."""

from flask import Blueprint

from portal.licenses import staff_views, views

bp = Blueprint("licenses", __name__)

bp.add_url_rule("/licenses/", view_func=views.index)
bp.add_url_rule("/licenses/<id:license_id>", view_func=views.detail)
bp.add_url_rule("/licenses/<id:license_id>/reveal", view_func=views.reveal, methods=["POST"])
bp.add_url_rule("/licenses/manager", "manager", views.manage_manager, methods=["GET", "POST"])
bp.add_url_rule(
    "/licenses/manager/confirm/<token>", view_func=views.confirm_manager, methods=["GET", "POST"]
)

bp.add_url_rule("/staff/licenses/", "staff_index", staff_views.index)
bp.add_url_rule("/staff/licenses/companies/<id:company_id>", "staff_company", staff_views.company)
bp.add_url_rule(
    "/staff/licenses/new", "staff_new", staff_views.new_license, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/staff/licenses/<id:license_id>/extend",
    "staff_extend",
    staff_views.extend,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/licenses/<id:license_id>/revoke",
    "staff_revoke",
    staff_views.revoke,
    methods=["GET", "POST"],
)
bp.add_url_rule("/staff/licenses/products", "staff_products", staff_views.products)
bp.add_url_rule(
    "/staff/licenses/products/new",
    "staff_new_product",
    staff_views.new_product,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/licenses/releases/new",
    "staff_new_release",
    staff_views.new_release,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/licenses/releases/<id:release_id>/end-of-life",
    "staff_end_of_life",
    staff_views.end_of_life,
    methods=["GET", "POST"],
)
