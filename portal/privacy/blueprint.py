"""Every URL of privacy: the public processing register and a person's own data export."""

from flask import Blueprint

from portal.privacy import views

bp = Blueprint("privacy", __name__)

bp.add_url_rule("/privacy", view_func=views.index)
bp.add_url_rule("/account/export", view_func=views.export)
