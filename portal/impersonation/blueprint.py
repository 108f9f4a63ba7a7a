"""Every URL of support's views as a customer that is not a staff page."""

from flask import Blueprint

from portal.impersonation import views

bp = Blueprint("impersonation", __name__)

bp.add_url_rule("/impersonation/stop", view_func=views.stop, methods=["POST"])
bp.add_url_rule("/account/support-views", view_func=views.my_views)
