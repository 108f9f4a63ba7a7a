"""Every URL of the company's user administration (`/company/users`)."""

from flask import Blueprint

from portal.members import views

bp = Blueprint("members", __name__, url_prefix="/company/users")

bp.add_url_rule("", view_func=views.index, methods=["GET", "POST"])
bp.add_url_rule("/<id:account_id>", view_func=views.person)
bp.add_url_rule("/<id:account_id>/role", view_func=views.change_role, methods=["POST"])
bp.add_url_rule("/<id:account_id>/deactivate", view_func=views.deactivate, methods=["POST"])
bp.add_url_rule("/<id:account_id>/reactivate", view_func=views.reactivate, methods=["POST"])
bp.add_url_rule(
    "/<id:account_id>/invitation/resend", view_func=views.resend_invitation, methods=["POST"]
)
bp.add_url_rule(
    "/<id:account_id>/invitation/cancel", view_func=views.cancel_invitation, methods=["POST"]
)
bp.add_url_rule("/<id:account_id>/remove", view_func=views.remove, methods=["GET", "POST"])
