"""`/privacy`: the processing register for everyone; `/account/export`: a person's own data."""

from datetime import datetime

from flask import current_app, json, make_response, request
from flask_login import current_user

from portal import access, audit, clock
from portal.i18n import format_datetime
from portal.orders.models import ORDER_STATE_LABELS
from portal.privacy.export import collect
from portal.register import BOOKKEEPING_YEARS, LEGAL_BASIS_LABELS, REGISTER, RetentionRule
from portal.rendering import render_template


@access.PUBLIC
def index():
    return render_template(
        "portal/privacy/index.html",
        register=REGISTER,
        legal_basis_labels=LEGAL_BASIS_LABELS,
        rules=RetentionRule,
        account_months=current_app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"],
        bookkeeping_years=BOOKKEEPING_YEARS,
    )


def _wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    )


@access.SIGNED_IN
@access.not_while_impersonating
def export():
    account = current_user._get_current_object()
    data = collect(account)
    as_json = _wants_json()
    audit.record(
        "export.downloaded", subject=account, details={"format": "json" if as_json else "html"}
    )
    if as_json:
        response = make_response(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))
        response.mimetype = "application/json"
        filename = f"kundportal-export-{clock.today().isoformat()}.json"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    return render_template(
        "portal/privacy/export.html",
        data=data,
        when=_display_time,
        order_state_labels=ORDER_STATE_LABELS,
    )


def _display_time(iso: str | None) -> str:
    """An exported ISO timestamp as local time on the page (dates stay dates)."""
    if not iso:
        return ""
    if "T" not in iso:
        return iso
    return format_datetime(datetime.fromisoformat(iso), "yyyy-MM-dd HH:mm")
