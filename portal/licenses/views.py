"""The company's licenses: the list, one license with its releases, and revealing a key."""

import sqlalchemy as sa
from flask import Blueprint, abort, make_response, render_template, request
from flask_login import current_user

from portal import access, audit, clock
from portal.db import db
from portal.licenses import entitlement, keys
from portal.licenses.filters import filter_selects
from portal.licenses.listing import STATE_LABELS, LicenseQuery, ShownState, state_expression
from portal.licenses.models import License, Product
from portal.licenses.table import license_table
from portal.transaction import commit

bp = Blueprint("licenses", __name__, url_prefix="/licenses")


@bp.get("/")
@access.CUSTOMER
def index():
    products = db.session.scalars(sa.select(Product).order_by(Product.name)).all()
    query = LicenseQuery.from_args(request.args, {product.code for product in products})
    rows = db.session.execute(query.row_statement(current_user.company_id, clock.today())).all()
    return render_template(
        "portal/licenses/list.html",
        filters=filter_selects(query, products),
        filtered=query.product is not None or query.state is not None,
        license_table=license_table(rows) if rows else None,
    )


@bp.get("/<int:license_id>")
@access.CUSTOMER
def detail(license_id: int):
    return _render_detail(license_id)


@bp.post("/<int:license_id>/reveal")
@access.LICENSE_MANAGER_OR_ADMIN
def reveal(license_id: int):
    response = make_response(_render_detail(license_id, reveal_key=True))
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_detail(license_id: int, *, reveal_key: bool = False):
    license, state = _company_license_or_404(license_id)
    if reveal_key:
        audit.record("license.key_revealed", subject=license, company_id=license.company_id)
        commit()
    return render_template(
        "portal/licenses/detail.html",
        license=license,
        state=state,
        state_label=STATE_LABELS[state],
        releases=entitlement.offered_releases(license.company_id, license_id=license.id),
        masked_key=keys.mask(license.key),
        revealed_key=license.key if reveal_key else None,
        can_reveal=access.LICENSE_MANAGER_OR_ADMIN.allows(current_user),
    )


def _company_license_or_404(license_id: int) -> tuple[License, ShownState]:
    """The license with its shown state, if it belongs to the signed-in user's company."""
    row = db.session.execute(
        sa.select(License, state_expression(clock.today())).where(
            License.id == license_id, License.company_id == current_user.company_id
        )
    ).first()
    if row is None:
        abort(404)
    return row[0], ShownState(row[1])
