"""Every URL of the activity log."""

from flask import Blueprint

from portal.activity import views

bp = Blueprint("activity", __name__)

bp.add_url_rule("/company/activity", view_func=views.company)
bp.add_url_rule("/company/activity/export", view_func=views.export)
bp.add_url_rule("/staff/companies/<id:company_id>/activity", view_func=views.staff_company)
