"""The web shell: health check, language switch, dashboard, headers and error pages."""

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from portal import access
from portal.db import db
from portal.downloads import end_of_life
from portal.i18n import LANGUAGE_COOKIE, LANGUAGES
from portal.news import service as news

bp = Blueprint("core", __name__)

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@bp.get("/healthz")
@access.PUBLIC
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/language/<code>")
@access.PUBLIC
def switch_language(code: str):
    if code not in LANGUAGES:
        return redirect(url_for("portal.core.dashboard"))
    response = redirect(safe_next_url(request.args.get("next")) or url_for("portal.core.dashboard"))
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


@bp.get("/")
@access.SIGNED_IN
def dashboard():
    if current_user.is_staff:
        return render_template("portal/staff_home.html")
    return render_template(
        "portal/dashboard.html",
        end_of_life_warnings=end_of_life.warnings_for(current_user.company_id),
        news_items=news.latest(),
    )


def refuse_nul_characters():
    """NUL is never valid input, and PostgreSQL cannot even store it: refuse it in one place."""
    values = [*request.args.values(), *request.form.values(), request.path]
    if any("\x00" in value for value in values):
        abort(400)


def safe_next_url(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative `//`."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    if current_app.config["PORTAL_ENV"] == "production":
        response.headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    return response


# The main menu; an entry shows when its endpoint exists and its access rule admits the user.
NAVIGATION = (
    ("portal.licenses.index", _l("Licenses")),
    ("portal.downloads.index", _l("Downloads")),
    ("portal.contacts.index", _l("Contacts")),
    ("portal.company.users", _l("Users")),
    ("portal.license_manager.manage", _l("License manager")),
    ("portal.staff.companies", _l("Companies")),
    ("portal.staff_licenses.index", _l("License administration")),
    ("portal.staff_news.index", _l("News")),
    ("portal.staff_disclosures.index", _l("Disclosures")),
    ("portal.staff.impersonations", _l("Support views")),
    ("portal.staff_retention.index", _l("Retention")),
    ("portal.account.overview", _l("My account")),
)


def navigation_for(account) -> list[tuple[str, object]]:
    return [
        (endpoint, label) for endpoint, label in NAVIGATION if access.may_use(endpoint, account)
    ]


def template_context():
    return {
        "current_language": str(get_locale() or "sv"),
        "languages": LANGUAGES,
        "nav_items": (
            # The account itself, not the proxy: each rule reads several of its attributes.
            navigation_for(current_user._get_current_object())
            if current_user.is_authenticated
            else []
        ),
    }


ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    403: (_l("Not allowed"), _l("You do not have permission to do this.")),
    404: (_l("Page not found"), _l("The page does not exist, or you cannot see it.")),
    405: (_l("Method not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("The file is too large"),
        _l("What you sent is larger than the portal accepts. Choose a smaller file."),
    ),
    429: (
        _l("Too many attempts"),
        _l("You have tried too many times. Wait a while and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. It has been logged; please try again later."),
    ),
}


def render_error(error: HTTPException):
    code = error.code or 500
    title, message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    if request.accept_mimetypes.best == "application/json":
        response = jsonify(error=str(title))
        response.status_code = code
    else:
        response = make_response(
            render_template("portal/error.html", code=code, title=title, message=message), code
        )
    if code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    if code == 429 and getattr(error, "retry_after", None):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def render_internal_error(_error):
    db.session.rollback()
    return render_error(_InternalError())


class _InternalError(HTTPException):
    code = 500


def register_error_pages(target) -> None:
    for code in ERROR_TEXTS:
        if code == 500:
            target.register_error_handler(500, render_internal_error)
        else:
            target.register_error_handler(code, render_error)
