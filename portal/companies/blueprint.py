"""Every URL of companies: the staff admin's pages to add one and end or restart it."""

from flask import Blueprint

from portal.companies import views

bp = Blueprint("companies", __name__, url_prefix="/staff/companies")

bp.add_url_rule("/new", view_func=views.new, methods=["GET", "POST"])
bp.add_url_rule("/<id:company_id>/end", view_func=views.end, methods=["GET", "POST"])
bp.add_url_rule("/<id:company_id>/restart", view_func=views.restart, methods=["GET", "POST"])
