"""`/impersonation/stop`: the banner's Stop button, the one change allowed during a view."""

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _

from portal import access
from portal.impersonation import service
from portal.impersonation.models import EndReason
from portal.transaction import commit

bp = Blueprint("impersonation", __name__, url_prefix="/impersonation")


@bp.app_context_processor
def _banner_context():
    # A function, so that only pages that show the banner (portal/base.html) ask for it.
    return {"current_impersonation": service.current}


@bp.post("/stop")
@access.SIGNED_IN
@access.ends_impersonation
def stop():
    view = service.current()
    if view is None:
        flash(_("You are not viewing the portal as a customer."), "info")
        return redirect(url_for("portal.core.dashboard"))
    name = view.customer.display_name if view.customer is not None else ""
    customer_id = view.customer_account_id
    service.end(view, EndReason.STOP)
    commit()
    flash(_("You have stopped viewing the portal as %(name)s.", name=name), "success")
    if customer_id is None:
        return redirect(url_for("portal.staff.companies"))
    return redirect(url_for("portal.staff.account", account_id=customer_id))
