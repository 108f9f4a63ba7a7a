"""Every URL of machines: the license page's machines, offline machines and their license
files, the company's API tokens, and the staff's minimum versions and machine lists."""

from flask import Blueprint

from portal.licenses import views as license_views
from portal.machines import staff_views, views

bp = Blueprint("machines", __name__)

# The license page (portal.licenses) shows the license's machines in a section of ours.
license_views.LICENSE_PAGE_SECTIONS.append(views.license_section)

bp.add_url_rule(
    "/licenses/<id:license_id>/machines/offline",
    view_func=views.add_offline,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/licenses/<id:license_id>/machines/<id:machine_id>/license-file",
    view_func=views.license_file,
)
bp.add_url_rule(
    "/licenses/<id:license_id>/machines/<id:machine_id>/deactivate",
    view_func=views.deactivate,
    methods=["GET", "POST"],
)
bp.add_url_rule("/company/api-tokens", "api_tokens", views.api_tokens_page, methods=["GET", "POST"])
bp.add_url_rule(
    "/company/api-tokens/<id:token_id>/revoke",
    view_func=views.revoke_api_token,
    methods=["GET", "POST"],
)

bp.add_url_rule("/staff/machines/", "staff_index", staff_views.index)
bp.add_url_rule(
    "/staff/machines/products/<id:product_id>/minimum-version",
    "staff_minimum_version",
    staff_views.minimum_version,
    methods=["GET", "POST"],
)
bp.add_url_rule(
    "/staff/machines/products/<id:product_id>/minimum-version/remove",
    "staff_remove_minimum_version",
    staff_views.remove_minimum_version,
    methods=["POST"],
)
bp.add_url_rule(
    "/staff/machines/licenses/<id:license_id>", "staff_license", staff_views.license_machines
)
