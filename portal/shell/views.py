"""The shell around every page: the start page, the main menu, the language switch and the
liveness probe. It sits above every feature, so it may ask each of them for what it shows."""

import sqlalchemy as sa
from flask import current_app, g, jsonify, redirect, request, url_for
from flask_login import current_user

from portal import access, clock, news
from portal.db import db
from portal.http import safe_next_url
from portal.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, current_language
from portal.i18n import lazy_gettext as _l
from portal.impersonation import service as impersonation
from portal.orders import service as orders
from portal.orders import views as order_views
from portal.rendering import render_template
from portal.shell import attention, readiness

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

# The main menu; an entry shows when its endpoint exists and its access rule admits the user.
NAVIGATION = (
    ("portal.licenses.index", _l("Licenses")),
    ("portal.downloads.index", _l("Downloads")),
    ("portal.orders.index", _l("Orders")),
    ("portal.contacts.index", _l("Contacts")),
    ("portal.members.index", _l("Users")),
    ("portal.licenses.manager", _l("License manager")),
    ("portal.machines.api_tokens", _l("API tokens")),
    ("portal.staff.companies", _l("Companies")),
    ("portal.licenses.staff_index", _l("License administration")),
    ("portal.machines.staff_index", _l("Machines")),
    ("portal.orders.staff_index", _l("Orders")),
    ("portal.news.staff_index", _l("News")),
    ("portal.contacts.staff_disclosures", _l("Disclosures")),
    ("portal.staff.impersonations", _l("Support views")),
    ("portal.retention.staff_index", _l("Retention")),
    ("portal.accounts.overview", _l("My account")),
)


def navigation_for(account) -> list[tuple[str, object]]:
    return [
        (endpoint, label) for endpoint, label in NAVIGATION if access.may_use(endpoint, account)
    ]


def template_context() -> dict:
    """What the layout (portal/base.html) reads on every portal page."""
    return {
        "current_language": current_language(),
        "language_names": LANGUAGE_NAMES,
        "sales_email": current_app.config["PORTAL_SALES_EMAIL"],
        # A function, so that only the layout's banner asks for it.
        "current_impersonation": impersonation.current,
        # The header's cart: a count for those who may order, None for everyone else.
        "cart_count": _cart_count,
        "nav_items": (
            # The account itself, not the proxy: each rule reads several of its attributes.
            navigation_for(current_user._get_current_object())
            if current_user.is_authenticated
            else []
        ),
    }


def _cart_count() -> int | None:
    """Asked once per request, however many places of the page show the cart."""
    if _CART_COUNT not in g:
        count = None
        if current_user.is_authenticated and order_views.may_order():
            count = orders.cart_count(current_user.company_id)
        setattr(g, _CART_COUNT, count)
    return getattr(g, _CART_COUNT)


_CART_COUNT = "portal_cart_count"


@access.PUBLIC
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@access.PUBLIC
def readyz():
    report, status = readiness.check()
    response = jsonify(report)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@access.PUBLIC
def switch_language(code: str):
    if code not in LANGUAGE_NAMES:
        return redirect(url_for(".dashboard"))
    response = redirect(safe_next_url(request.args.get("next")) or url_for(".dashboard"))
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


@access.SIGNED_IN
def dashboard():
    if current_user.is_staff:
        return render_template("portal/shell/staff_home.html")
    return render_template(
        "portal/shell/dashboard.html",
        attention=attention.items_for(current_user._get_current_object(), clock.today()),
        news_items=news.latest(),
        written_in=news.WRITTEN_IN,
    )
