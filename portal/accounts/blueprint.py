"""Every URL of a person's own account (`/account/...`)."""

from flask import Blueprint

from portal.accounts import views

bp = Blueprint("accounts", __name__, url_prefix="/account")

bp.add_url_rule("", view_func=views.overview, methods=["GET", "POST"])
bp.add_url_rule("/sessions/<id:session_id>/end", view_func=views.end_session, methods=["POST"])
bp.add_url_rule("/sessions/end-others", view_func=views.end_other_sessions, methods=["POST"])
bp.add_url_rule("/password", view_func=views.change_password, methods=["GET", "POST"])
bp.add_url_rule("/email", view_func=views.change_email, methods=["GET", "POST"])
bp.add_url_rule("/email/confirm/<token>", view_func=views.confirm_email, methods=["GET", "POST"])
bp.add_url_rule("/two-factor", view_func=views.two_factor)
bp.add_url_rule("/two-factor/enrol", view_func=views.two_factor_enrol, methods=["GET", "POST"])
bp.add_url_rule("/two-factor/disable", view_func=views.two_factor_disable, methods=["GET", "POST"])
bp.add_url_rule(
    "/two-factor/recovery-codes", view_func=views.recovery_codes, methods=["GET", "POST"]
)
