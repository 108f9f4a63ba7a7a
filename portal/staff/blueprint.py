"""Every URL of support's tools: finding and reading companies and accounts, and "View as"."""

from flask import Blueprint

from portal.staff import views

bp = Blueprint("staff", __name__, url_prefix="/staff")

bp.add_url_rule("/companies", view_func=views.companies)
bp.add_url_rule("/companies/<id:company_id>", view_func=views.company)
bp.add_url_rule("/accounts/<id:account_id>", view_func=views.account)
bp.add_url_rule(
    "/accounts/<id:account_id>/impersonate", view_func=views.impersonate, methods=["POST"]
)
bp.add_url_rule("/impersonations", view_func=views.impersonations)
