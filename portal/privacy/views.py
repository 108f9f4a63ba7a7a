from flask import Blueprint, current_app, render_template

from portal import access
from portal.privacy.register import (
    BOOKKEEPING_YEARS,
    LEGAL_BASIS_LABELS,
    REGISTER,
    RetentionRule,
)

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
@access.PUBLIC
def privacy():
    return render_template(
        "portal/privacy.html",
        register=REGISTER,
        legal_basis_labels=LEGAL_BASIS_LABELS,
        rules=RetentionRule,
        account_months=current_app.config["PORTAL_ACCOUNT_RETENTION_MONTHS"],
        bookkeeping_years=BOOKKEEPING_YEARS,
    )
