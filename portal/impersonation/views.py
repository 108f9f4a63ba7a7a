"""The banner's Stop button (the one change allowed during a view), and a person's list of the
times support viewed the portal as them."""

from flask import flash, redirect, url_for
from flask_login import current_user

from portal import access
from portal.i18n import gettext as _
from portal.impersonation import service
from portal.impersonation.models import EndReason
from portal.rendering import render_template


@access.SIGNED_IN
@access.ends_impersonation
def stop():
    view = service.current()
    if view is None:
        flash(_("You are not viewing the portal as a customer."), "info")
        return redirect(url_for("portal.shell.dashboard"))
    name = view.customer.display_name if view.customer is not None else ""
    customer_id = view.customer_account_id
    service.end(view, EndReason.STOP)
    flash(_("You have stopped viewing the portal as %(name)s.", name=name), "success")
    if customer_id is None:
        return redirect(url_for("portal.staff.companies"))
    return redirect(url_for("portal.staff.account", account_id=customer_id))


@access.CUSTOMER
def my_views():
    return render_template(
        "portal/impersonation/my_views.html", views=service.views_of_account(current_user.id)
    )
