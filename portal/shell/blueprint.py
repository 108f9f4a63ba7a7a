"""Every URL of the shell: the start page, the language switch and the two probes."""

from flask import Blueprint

from portal.shell import views

bp = Blueprint("shell", __name__)

bp.add_url_rule("/", view_func=views.dashboard)
bp.add_url_rule("/language/<code>", view_func=views.switch_language)
bp.add_url_rule("/healthz", view_func=views.healthz)
bp.add_url_rule("/readyz", view_func=views.readyz)
