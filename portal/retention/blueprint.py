"""Every URL of retention: the staff admins' view of upcoming purges and past runs."""

from flask import Blueprint

from portal.retention import staff_views

bp = Blueprint("retention", __name__, url_prefix="/staff/retention")

bp.add_url_rule("/", "staff_index", staff_views.index)
