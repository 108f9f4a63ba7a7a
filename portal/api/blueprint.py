"""Every URL of the JSON API (`/api/v1`, under the portal's prefix), and its JSON error answers."""

from flask import Blueprint

from portal.api import views
from portal.api.responses import register_error_handlers
from portal.machines import signing

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# SafeLink: authenticated by the license key in the body.
bp.add_url_rule("/machines/activate", view_func=views.activate, methods=["POST"])
bp.add_url_rule("/machines/validate", view_func=views.validate, methods=["POST"])
bp.add_url_rule("/machines/deactivate", view_func=views.deactivate, methods=["POST"])
bp.add_url_rule("/signing-keys", view_func=views.signing_keys)
# Automation: authenticated by a company's API token.
bp.add_url_rule("/licenses", view_func=views.licenses)
bp.add_url_rule("/releases", view_func=views.releases)
bp.add_url_rule("/releases/files/<id:file_id>", view_func=views.release_file)
bp.add_url_rule("/openapi.json", view_func=views.openapi_document)

# Each process records the public key it signs with, so the key stays published after rotation.
bp.before_request(signing.record_key_in_use)
register_error_handlers(bp)
