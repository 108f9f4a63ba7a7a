"""Every URL of signing in: the login, the second step, password reset and invitations."""

from flask import Blueprint

from portal.signin import views

bp = Blueprint("signin", __name__)

bp.add_url_rule("/login", view_func=views.login, methods=["GET", "POST"])
bp.add_url_rule("/logout", view_func=views.logout, methods=["POST"])
bp.add_url_rule("/login/two-factor", view_func=views.two_factor, methods=["GET", "POST"])
bp.add_url_rule(
    "/login/two-factor/enrol", view_func=views.two_factor_enrolment, methods=["GET", "POST"]
)
bp.add_url_rule("/password/forgot", view_func=views.forgot_password, methods=["GET", "POST"])
bp.add_url_rule("/password/reset/<token>", view_func=views.reset_password, methods=["GET", "POST"])
bp.add_url_rule("/invite/<token>", view_func=views.accept_invitation, methods=["GET", "POST"])
