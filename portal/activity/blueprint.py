"""Every URL of the activity log."""

from flask import Blueprint

from portal.activity import views

bp = Blueprint("activity", __name__)

bp.add_url_rule("/company/activity", view_func=views.company)
